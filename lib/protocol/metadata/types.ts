/**
 * Types for Nextcloud E2EE folder metadata (protocol.md §6, §7).
 *
 * Reading is tolerant (versions "2"/"2.0"/"2.1" and numbers, missing or empty `users`, `filedrop` as `{}`
 * or `[]`, legacy file members); the typed objects below are what the rest of Cipherfold works with.
 */
import type { Bytes } from '../../crypto/bytes';
import { fail } from '../../errors';

import type { Brand, FileId, UserId } from '../../ids';

export type { FileId, UserId };

/** A 32-hex-digit identifier, the name a file or sub-folder has on the server. Uppercase accepted on read. */
export type Uuid32 = Brand<string, 'Uuid32'>;

const UUID32 = /^[0-9a-fA-F]{32}$/;

export function isUuid32(s: unknown): s is Uuid32 {
  return typeof s === 'string' && UUID32.test(s);
}

export function asUuid32(s: string): Uuid32 {
  if (!isUuid32(s)) {
    throw fail('format', 'An encrypted name is not a 32-digit hexadecimal id. The data may be damaged.');
  }
  return s;
}

export function asUserId(s: string): UserId {
  if (s.length === 0) throw fail('format', 'A user id is empty. The data may be damaged.');
  return s as UserId;
}

export function asFileId(s: string | number): FileId {
  const v = String(s);
  if (v.length === 0) throw fail('format', 'A file id is empty. The data may be damaged.');
  return v as FileId;
}

/** True for the pseudo-user of an E2EE public link share (`s:<token>`, §3.6). */
export function isShareUserId(userId: string): boolean {
  return userId.startsWith('s:');
}

export type V2Version = '2.0' | '2.1';
export type V1Version = '1.0' | '1.2';

export const DEFAULT_MIMETYPE = 'application/octet-stream';
/** Mimetypes (and the empty string) that old clients used for folders stored as `files` entries (§6.4). */
export const LEGACY_FOLDER_MIMETYPES: readonly string[] = ['httpd/unix-directory', 'inode/directory', ''];

/** One file of the inner document (§6.4). */
export interface FileEntry {
  readonly filename: string;
  readonly mimetype: string;
  /** 16-byte AES-128 file key. */
  readonly key: Bytes;
  /** File nonce, any length (12 web, 16 others); read from `nonce` or legacy `initializationVector`. */
  readonly nonce: Bytes;
  /** Advisory copy of the payload's trailing tag (G-8: may hold the nonce on Android); undefined if absent. */
  readonly authenticationTag: Bytes | undefined;
}

/** The decrypted, validated inner document (§6.4). */
export interface InnerDocument {
  readonly counter: number;
  readonly deleted: boolean;
  /** Root: history of metadata-key checksums as stored. Undefined when the member is missing (sub-folders). */
  readonly keyChecksums: readonly string[] | undefined;
  readonly folders: ReadonlyMap<Uuid32, string>;
  readonly files: ReadonlyMap<Uuid32, FileEntry>;
}

/** `metadata` member of a 2.x outer document (§6.1). */
export interface EncryptedMetadataMember {
  /** As stored, possibly with a `|<nonce>` suffix (G-11). */
  readonly ciphertext: string;
  readonly nonce: string | undefined;
  readonly authenticationTag: string | undefined;
}

/** One `users[]` entry (§6.2). */
export interface MetadataUser {
  readonly userId: UserId;
  /** Certificate PEM exactly as stored (it is covered by the signature). */
  readonly certificate: string;
  readonly encryptedMetadataKey: string;
}

/** A filedrop entry as stored (§6.6); kept raw so unreadable entries survive a rewrite untouched. */
export interface RawFiledropEntry {
  readonly [member: string]: unknown;
}

export type MetadataWarningCode =
  | 'tag-mismatch' // metadata `authenticationTag` differs from the trailing tag of `ciphertext`
  | 'nonce-mismatch' // `nonce` member and `|nonce` suffix differ
  | 'not-gzipped' // decrypted inner document was plain JSON, not gzip
  | 'missing-counter' // inner document had no counter (treated as 0)
  | 'invalid-entry' // a files/folders entry was malformed and skipped
  | 'legacy-folder-entry' // a folder stored as a `files` entry (httpd/unix-directory …)
  | 'filedrop-in-subfolder' // a sub-folder document carried a filedrop member (ignored)
  | 'filedrop-malformed' // the filedrop member or an entry had an unexpected shape
  | 'filedrop-unreadable' // a filedrop entry could not be decrypted by us (kept for other members)
  | 'filedrop-conflict' // a filedrop entry reuses the id of an existing file or folder (kept, not applied)
  | 'duplicate-checksums' // keyChecksums contains duplicates (iOS, G-7)
  | 'short-checksum' // a key checksum shorter than 64 hex digits (Android, G-6)
  | 'checksum-history-shrank' // a checksum seen before is no longer listed (G-7)
  | 'stored-order-signature' // the signature verified only over a non-sorted canonical form (§6.8.2)
  | 'pkcs1-v15-key' // the metadata key was RSA PKCS#1 v1.5-encrypted (hardware token, G-35)
  | 'v1-checksum-missing' // a 1.2 document had no checksum
  | 'v1-checksum-unverified'; // a 1.2 checksum could not be checked (no mnemonic given)

export interface MetadataWarning {
  readonly code: MetadataWarningCode;
  readonly message: string;
}

export function warning(code: MetadataWarningCode, message: string): MetadataWarning {
  return { code, message };
}

interface ParsedBase {
  /** The outer document as parsed (member order as stored), for signature candidates. */
  readonly raw: { readonly [member: string]: unknown };
  readonly warnings: readonly MetadataWarning[];
}

export interface ParsedV2Root extends ParsedBase {
  readonly kind: 'v2-root';
  readonly version: V2Version;
  readonly metadata: EncryptedMetadataMember;
  /** Never empty. */
  readonly users: readonly MetadataUser[];
  /** uuid → raw entry (as stored, `{}`/`[]` → empty). */
  readonly filedrop: ReadonlyMap<string, RawFiledropEntry>;
}

export interface ParsedV2Sub extends ParsedBase {
  readonly kind: 'v2-sub';
  readonly version: V2Version;
  readonly metadata: EncryptedMetadataMember;
}

export interface V1FileRecord {
  readonly id: string;
  readonly encrypted: string;
  readonly initializationVector: string | undefined;
  readonly authenticationTag: string | undefined;
  /** Index into `metadataKeys` (1.0), if given. */
  readonly metadataKeyIndex: number | undefined;
}

export interface ParsedV1 extends ParsedBase {
  readonly kind: 'v1';
  readonly version: V1Version;
  /** 1.0: index → base64 RSA(double-base64 key). */
  readonly metadataKeys: ReadonlyMap<number, string>;
  /** 1.1 / 1.2: single key. */
  readonly metadataKey: string | undefined;
  readonly checksum: string | undefined;
  readonly files: readonly V1FileRecord[];
}

export type ParsedMetadata = ParsedV2Root | ParsedV2Sub | ParsedV1;
