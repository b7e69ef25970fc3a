/**
 * Keys at rest (architecture.md §4, docs/vault.md): the words-derived key and the device key, both
 * non-extractable AES-256-GCM CryptoKeys, and the wrap/unwrap of secrets with an AAD that binds each
 * ciphertext to its purpose and account (a wrapped value copied to another slot does not open).
 */
import { fail } from '../errors';
import { randomBytes, utf8, fromUtf8, type Bytes } from '../crypto/bytes';
import { gcmDecrypt, gcmEncrypt } from '../crypto/aes-gcm';
import type { AccountId, WordsKdf, WrappedSecret } from './types';

export const WORDS_KDF_ITERATIONS = 600_000;
export const WORDS_KDF_SALT_BYTES = 32;

export type SecretPurpose = 'private-key' | 'words' | 'app-password';

/**
 * KDF password from the recovery words: lowercase, all whitespace removed, UTF-8 (the same
 * normalisation as protocol.md §3.5.3, so any spelling that opens the server blob opens the vault).
 */
export function wordsPassword(words: readonly string[] | string): Bytes {
  const joined = typeof words === 'string' ? words : words.join(' ');
  const normalised = joined.toLowerCase().replace(/\s+/g, '');
  if (normalised.length === 0) {
    throw fail(
      'mnemonic',
      'No recovery words were entered. Enter the 12 recovery words shown when encryption was set up.',
    );
  }
  return utf8(normalised);
}

/** Splits words for storage/display: lowercase, single spaces. */
export function normaliseWordList(words: readonly string[] | string): string[] {
  const joined = typeof words === 'string' ? words : words.join(' ');
  return joined
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w.length > 0);
}

export function newWordsKdf(iterations = WORDS_KDF_ITERATIONS): WordsKdf {
  return { alg: 'PBKDF2', hash: 'SHA-256', iterations, salt: randomBytes(WORDS_KDF_SALT_BYTES) };
}

/** PBKDF2-SHA256 → non-extractable AES-256-GCM key (never visible as bytes, not even here). */
export async function deriveWordsKey(words: readonly string[] | string, kdf: WordsKdf): Promise<CryptoKey> {
  if (
    kdf.alg !== 'PBKDF2' ||
    kdf.hash !== 'SHA-256' ||
    !Number.isSafeInteger(kdf.iterations) ||
    kdf.iterations < 1
  ) {
    throw fail(
      'format',
      'The stored key-derivation settings are malformed. The local data may be damaged. Remove the account and add it again.',
    );
  }
  const base = await crypto.subtle.importKey('raw', wordsPassword(words), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: kdf.salt, iterations: kdf.iterations },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

export async function generateDeviceKey(): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

function aad(purpose: SecretPurpose, accountId: AccountId): Bytes {
  return utf8(`cipherfold-vault/v1\u0000${purpose}\u0000${accountId}`);
}

export async function wrapSecret(
  key: CryptoKey,
  purpose: SecretPurpose,
  accountId: AccountId,
  plaintext: Bytes,
): Promise<WrappedSecret> {
  const iv = randomBytes(12);
  return { v: 1, iv, ct: await gcmEncrypt(key, iv, plaintext, aad(purpose, accountId)) };
}

/** Throws a `tag` error when the key is wrong or the record was altered or moved. */
export async function unwrapSecret(
  key: CryptoKey,
  purpose: SecretPurpose,
  accountId: AccountId,
  wrapped: WrappedSecret,
): Promise<Bytes> {
  if (wrapped?.v !== 1 || !(wrapped.iv instanceof Uint8Array) || !(wrapped.ct instanceof Uint8Array)) {
    throw fail(
      'format',
      'A stored secret is malformed. The local data may be damaged. Remove the account and add it again.',
    );
  }
  return gcmDecrypt(key, copy(wrapped.iv), copy(wrapped.ct), aad(purpose, accountId));
}

export async function wrapText(key: CryptoKey, purpose: SecretPurpose, accountId: AccountId, text: string) {
  return wrapSecret(key, purpose, accountId, utf8(text));
}

export async function unwrapText(
  key: CryptoKey,
  purpose: SecretPurpose,
  accountId: AccountId,
  w: WrappedSecret,
) {
  const b = await unwrapSecret(key, purpose, accountId, w);
  try {
    return fromUtf8(b);
  } finally {
    b.fill(0);
  }
}

/** Values read back from IndexedDB may be views on foreign buffers; WebCrypto wants plain ones. */
function copy(b: Uint8Array): Bytes {
  const out = new Uint8Array(new ArrayBuffer(b.length));
  out.set(b);
  return out;
}
