/**
 * Typed errors shared by every layer of Cipherfold.
 *
 * Every failure that can reach a user carries a `kind` (stable, machine-readable) and a message in the
 * shape "<what happened>. <what it may mean>. <what you can do>." Messages never contain key material,
 * plaintext names or app passwords.
 */
export const ERROR_KINDS = [
  'mnemonic', // recovery words are malformed or do not open the key
  'signature', // a metadata signature is missing or does not verify
  'key-checksum', // the metadata key is not listed in keyChecksums, or history shrank
  'counter', // metadata counter went backwards (replay / rollback)
  'certificate', // a certificate does not verify, has the wrong CN, is expired, or changed (TOFU)
  'tag', // an AES-GCM authentication tag did not verify
  'metadata', // metadata is structurally wrong, cannot be decrypted, or has an unsupported version
  'missing-file', // metadata lists a file the server does not have
  'format', // an input (PEM, base64, key blob, dump) is malformed
  'network', // the server could not be reached
  'server', // the server answered with an unexpected status or body
  'auth', // credentials were refused
  'permission', // the server refused for lack of permission (403)
  'not-found', // the server has no such resource (404)
  'e2ee-unavailable', // the server has no end-to-end encryption app for this user
  'locked', // another client holds the folder lock (423)
  'conflict', // a concurrent change was detected (409/412, or a counter conflict answered with 500)
  'cancelled', // the user or caller cancelled
  'unsupported', // valid input that Cipherfold deliberately does not handle
  'internal', // a bug in Cipherfold: the message says so; please report it
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

export class CipherfoldError extends Error {
  readonly kind: ErrorKind;
  /** Extra, non-sensitive details for admins ("technical details" in the UI). */
  readonly detail: string | undefined;

  constructor(kind: ErrorKind, message: string, options?: { detail?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CipherfoldError';
    this.kind = kind;
    this.detail = options?.detail;
  }
}

export function isCipherfoldError(e: unknown, kind?: ErrorKind): e is CipherfoldError {
  return e instanceof CipherfoldError && (kind === undefined || e.kind === kind);
}

/** Shorthand used by modules: `throw fail('tag', '…')`. */
export function fail(
  kind: ErrorKind,
  message: string,
  options?: { detail?: string; cause?: unknown },
): CipherfoldError {
  return new CipherfoldError(kind, message, options);
}

/** Wraps unknown exceptions from parsers into a `format` error (never leaks the input). */
export function asFormatError(e: unknown, message: string): CipherfoldError {
  if (e instanceof CipherfoldError) return e;
  return new CipherfoldError('format', message, { cause: e });
}
