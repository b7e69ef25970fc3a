/**
 * Record and event types of the vault (docs/vault.md). Everything here is what is stored in IndexedDB,
 * except the `*View` types, which are what callers get back (never a wrapped secret).
 */
import { fail } from '../errors';
import type { Bytes } from '../crypto/bytes';

/** `${userId}@${origin}`, e.g. `alice@https://cloud.example.org`. */
export type AccountId = string & { readonly __brand: 'AccountId' };

/** Nextcloud file id of an encrypted root folder (as a string; WebDAV `oc:fileid`). */
export type FolderFileId = string;

export type VaultMode = 'remember' | 'session';

/**
 * Builds the account id. `origin` must be a URL origin (scheme://host[:port]); a full server URL is
 * reduced to its origin. The user id is kept verbatim (Nextcloud user ids may contain `@`).
 */
export function accountIdOf(userId: string, serverUrl: string): AccountId {
  if (userId.length === 0 || userId.length > 256 || [...userId].some((c) => c.charCodeAt(0) < 0x20)) {
    throw fail(
      'format',
      'The Nextcloud user id is empty or malformed. The server may have answered wrongly. Connect the account again.',
    );
  }
  return `${userId}@${originOf(serverUrl)}` as AccountId;
}

export function originOf(serverUrl: string): string {
  let u: URL;
  try {
    u = new URL(serverUrl);
  } catch (e) {
    throw fail(
      'format',
      'The server address is not a valid URL. It may be mistyped. Check the address and try again.',
      {
        cause: e,
      },
    );
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw fail(
      'format',
      'The server address is not an http(s) URL. It may be mistyped. Check the address and try again.',
    );
  }
  return u.origin;
}

/** Splits an account id (the origin never contains `@`, so the last `@` separates the two). */
export function parseAccountId(id: string): { userId: string; origin: string; id: AccountId } {
  const at = id.lastIndexOf('@');
  if (at <= 0)
    throw fail(
      'format',
      'An account id is malformed. The local data may be damaged. Remove and re-add the account.',
    );
  const userId = id.slice(0, at);
  const origin = id.slice(at + 1);
  if (originOf(origin) !== origin) {
    throw fail(
      'format',
      'An account id is malformed. The local data may be damaged. Remove and re-add the account.',
    );
  }
  return { userId, origin, id: id as AccountId };
}

/** AES-256-GCM ciphertext of a secret: 12-byte IV, ciphertext ‖ tag. The AAD is implied by purpose + account. */
export interface WrappedSecret {
  v: 1;
  iv: Bytes;
  ct: Bytes;
}

export interface WordsKdf {
  alg: 'PBKDF2';
  hash: 'SHA-256';
  iterations: number;
  salt: Bytes;
}

export interface AccountRecord {
  id: AccountId;
  /** Base URL of the Nextcloud instance (may include a path such as /nextcloud). */
  serverUrl: string;
  origin: string;
  userId: string;
  loginName: string;
  displayName: string;
  /** Wrapped by the device key (see docs/vault.md, "App password"). */
  appPassword: WrappedSecret;
  createdAt: number;
}

export type AccountView = Omit<AccountRecord, 'appPassword'> & { hasKeys: boolean };

export type KeySource = 'generated' | 'imported' | 'device-approval';

export interface KeysRecord {
  accountId: AccountId;
  kdf: WordsKdf;
  privateKey: WrappedSecret;
  words: WrappedSecret;
  certificatePem: string;
  source: KeySource;
  createdAt: number;
}

export interface PinnedKeyRecord {
  accountId: AccountId;
  pem: string;
  /** lowercase hex SHA-256 of the DER. */
  fingerprint: string;
  pinnedAt: number;
  /** Fingerprint of a differing key last reported (so the audit log gets one entry per change, not per fetch). */
  pendingFingerprint?: string;
}

export interface PinnedCertificateRecord extends PinnedKeyRecord {
  userId: string;
}

export type PinResult =
  | 'pinned'
  | 'same'
  | { changed: { old: string; new: string; oldFingerprint: string; newFingerprint: string } };

export interface FolderRecord {
  accountId: AccountId;
  fileId: FolderFileId;
  /** Highest metadata counter seen. */
  counter: number;
  /** lowercase hex SHA-256 of the metadata seen with `counter` (same counter, other content = suspicious). */
  digest?: string;
  /** Every key checksum ever seen for this root, oldest first (never shrinks). */
  checksums: string[];
  updatedAt: number;
}

export interface DeviceRecord {
  accountId: AccountId;
  deviceId: string;
  name: string;
  browser: string;
  approvedAt: number;
  lastSeen: number;
  forgotten: boolean;
  /** true for the record describing this browser profile. */
  current?: boolean;
}

export interface SecurityMark {
  colour: string;
  symbol: string;
}

export interface SettingsRecord {
  accountId: AccountId;
  /** 0 = never. */
  autoLockMinutes: number;
  mode: VaultMode;
  securityMark?: SecurityMark;
}

export const DEFAULT_AUTO_LOCK_MINUTES = 15;

/**
 * Key events for the audit log. Only ids, fingerprints, names and counts: never words, keys,
 * passwords or file names.
 */
export type AuditEvent =
  | { type: 'account-connected' }
  | { type: 'key-created'; source: KeySource; certificateFingerprint: string }
  | { type: 'key-unlocked'; method: 'words' | 'stored-key' }
  | { type: 'key-locked'; reason: 'user' | 'idle' | 'other' }
  | { type: 'unlock-failed' }
  | { type: 'words-revealed' }
  | { type: 'mode-changed'; mode: VaultMode }
  | { type: 'app-password-changed' }
  | { type: 'device-approval-requested'; requestId: string; deviceName: string }
  | { type: 'device-approved'; requestId: string; deviceId: string; deviceName: string }
  | {
      type: 'device-rejected';
      requestId: string;
      deviceName: string;
      reason: 'user' | 'code-mismatch' | 'expired';
    }
  | { type: 'device-forgotten'; deviceId: string; deviceName: string }
  | { type: 'server-key-pinned'; fingerprint: string }
  | { type: 'server-key-changed'; oldFingerprint: string; newFingerprint: string; accepted: boolean }
  | { type: 'certificate-pinned'; userId: string; fingerprint: string }
  | {
      type: 'certificate-changed';
      userId: string;
      oldFingerprint: string;
      newFingerprint: string;
      accepted: boolean;
    }
  | { type: 'counter-rollback'; fileId: string; seen: number; stored: number }
  | { type: 'key-checksum-removed'; fileId: string; missing: number };

export type AuditEventType = AuditEvent['type'];

export interface AuditEntry {
  accountId: AccountId;
  seq: number;
  at: number;
  event: AuditEvent;
  /** hex SHA-256 of the previous entry of this account's chain (64 zeros for the first). */
  prev: string;
  /** hex SHA-256 of this entry (see audit.ts). */
  hash: string;
}

export type AuditReadResult =
  { intact: true; entries: AuditEntry[] } | { intact: false; entries: AuditEntry[]; firstBadSeq: number };

export interface UnlockedAccount {
  accountId: AccountId;
  /** PKCS#8 DER of the RSA private key (a copy; the caller may zero it). */
  privateKeyPkcs8: Bytes;
  certificatePem: string;
}
