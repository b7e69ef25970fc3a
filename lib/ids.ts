/**
 * Branded identifiers shared by every layer (one definition, so values flow between the HTTP client,
 * the protocol code and the engine without casts).
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Numeric Nextcloud file id (`oc:fileid`, leading digits of `OC-FileId`) as a decimal string. */
export type FileId = Brand<string, 'FileId'>;
/** Nextcloud user id (may differ from the login name), or `s:<shareToken>` for an E2EE link-share user. */
export type UserId = Brand<string, 'UserId'>;
