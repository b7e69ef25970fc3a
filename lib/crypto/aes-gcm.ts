/**
 * One-shot AES-GCM over WebCrypto (128-bit tag appended to the ciphertext, no AAD by default).
 * For data that may exceed a few hundred MiB use the streaming implementation in `gcm-stream.ts`:
 * a single WebCrypto call fails at about 2 GiB in browsers.
 */
import { fail } from '../errors';
import type { Bytes } from './bytes';

export const GCM_TAG_LENGTH = 16;

function checkKey(key: Uint8Array): void {
  if (key.length !== 16 && key.length !== 32) {
    throw fail('format', 'An encryption key has the wrong length. The data may be damaged.');
  }
}

function checkNonce(nonce: Uint8Array): void {
  if (nonce.length < 1) throw fail('format', 'An encryption nonce is empty. The data may be damaged.');
}

export async function importAesGcmKey(
  key: Bytes,
  usages: KeyUsage[] = ['encrypt', 'decrypt'],
): Promise<CryptoKey> {
  checkKey(key);
  return crypto.subtle.importKey('raw', key, { name: 'AES-GCM' }, false, usages);
}

/** Encrypts `plaintext`; returns ciphertext ‖ 16-byte tag. */
export async function gcmEncrypt(
  key: Bytes | CryptoKey,
  nonce: Bytes,
  plaintext: Bytes,
  aad?: Bytes,
): Promise<Bytes> {
  checkNonce(nonce);
  const k = key instanceof Uint8Array ? await importAesGcmKey(key, ['encrypt']) : key;
  const params: AesGcmParams = { name: 'AES-GCM', iv: nonce, tagLength: 128 };
  if (aad) params.additionalData = aad;
  return new Uint8Array(await crypto.subtle.encrypt(params, k, plaintext)) as Bytes;
}

/**
 * Decrypts ciphertext ‖ tag. Throws a `tag` error when the tag does not verify (wrong key or damaged /
 * tampered data); the message can be replaced by callers that know more context.
 */
export async function gcmDecrypt(
  key: Bytes | CryptoKey,
  nonce: Bytes,
  ciphertextWithTag: Bytes,
  aad?: Bytes,
  message = 'Decryption failed: the data does not match its authentication tag. It was damaged or changed, or the key is wrong. Nothing was shown; try again or ask the owner to re-upload it.',
): Promise<Bytes> {
  checkNonce(nonce);
  if (ciphertextWithTag.length < GCM_TAG_LENGTH) {
    throw fail(
      'format',
      'Encrypted data is shorter than its authentication tag. It was truncated or damaged.',
    );
  }
  const k = key instanceof Uint8Array ? await importAesGcmKey(key, ['decrypt']) : key;
  const params: AesGcmParams = { name: 'AES-GCM', iv: nonce, tagLength: 128 };
  if (aad) params.additionalData = aad;
  try {
    return new Uint8Array(await crypto.subtle.decrypt(params, k, ciphertextWithTag)) as Bytes;
  } catch (e) {
    throw fail('tag', message, { cause: e });
  }
}
