/**
 * The encrypted private-key blob stored on the server (protocol.md §3.5, G-2, G-9, G-12, G-13).
 *
 * Written:  b64(ct‖tag) "|" b64(12-byte iv) "|" b64(40-byte salt), AES-256-GCM with a PBKDF2-HMAC-SHA256
 *           (600 000 iterations) key over the normalised mnemonic; the plaintext is the ASCII base64 of the
 *           PKCS#8 PEM text.
 * Read:     `|` or legacy `fA==` separators, any IV length, every KDF variant in KDF_VARIANTS, a plaintext
 *           that is base64(PEM), a bare PEM, or base64(DER); PKCS#1 keys are wrapped into PKCS#8.
 */
import { fail, isCipherfoldError } from '../errors';
import { gcmDecrypt, gcmEncrypt, GCM_TAG_LENGTH } from '../crypto/aes-gcm';
import { fromBase64, fromUtf8, randomBytes, toBase64, utf8, type Bytes } from '../crypto/bytes';
import { pbkdf2 } from '../crypto/kdf';
import { mnemonicKdfPassword } from '../crypto/mnemonic';
import { pemDecode, pemEncode } from '../crypto/pem';
import { toPkcs8 } from '../crypto/rsa';

export type KdfVariant = { hash: 'SHA-256' | 'SHA-1'; iterations: number };

/**
 * Tried in this order. SHA-1/1000 is the RFC's (wrong, G-2) legacy value; no official client is known to
 * have written it, but trying it last costs little.
 */
export const KDF_VARIANTS: KdfVariant[] = [
  { hash: 'SHA-256', iterations: 600_000 },
  { hash: 'SHA-1', iterations: 1024 },
  { hash: 'SHA-1', iterations: 600_000 },
  { hash: 'SHA-1', iterations: 1000 },
];

export const KEY_BLOB_SALT_LENGTH = 40;
export const KEY_BLOB_IV_LENGTH = 12;
const LEGACY_SEPARATOR = 'fA==';
const MAX_BLOB_CHARS = 1024 * 1024;

function malformed(why: string): never {
  throw fail(
    'format',
    `The stored private key is malformed (${why}). It may be damaged or not a Nextcloud end-to-end encryption key. Set up your keys again or restore them from another device.`,
  );
}

function emptyMnemonic(): never {
  throw fail(
    'mnemonic',
    'No recovery words were given. The key cannot be opened without them. Enter your 12 words.',
  );
}

export async function wrapPrivateKey(pkcs8Der: Bytes, mnemonic: string[] | string): Promise<string> {
  const password = mnemonicKdfPassword(mnemonic);
  if (password.length === 0) emptyMnemonic();
  const pkcs8 = toPkcs8(pkcs8Der);
  const plaintext = utf8(toBase64(utf8(pemEncode('PRIVATE KEY', pkcs8))));
  const salt = randomBytes(KEY_BLOB_SALT_LENGTH);
  const iv = randomBytes(KEY_BLOB_IV_LENGTH);
  const key = await pbkdf2(password, salt, KDF_VARIANTS[0]!.iterations, KDF_VARIANTS[0]!.hash, 32);
  const ct = await gcmEncrypt(key, iv, plaintext);
  return `${toBase64(ct)}|${toBase64(iv)}|${toBase64(salt)}`;
}

/** Splits and base64-decodes the three parts; throws `format` errors only. */
export function parseKeyBlob(blob: string): {
  ciphertext: Bytes;
  iv: Bytes;
  salt: Bytes;
  legacySeparator: boolean;
} {
  if (typeof blob !== 'string') malformed('not text');
  if (blob.length > MAX_BLOB_CHARS) malformed('too long');
  const text = blob.trim();
  const legacySeparator = !text.includes('|');
  const parts = legacySeparator ? text.split(LEGACY_SEPARATOR) : text.split('|');
  if (parts.length !== 3) malformed(`${parts.length} parts instead of 3`);
  const [ctText, ivText, saltText] = parts as [string, string, string];
  const ciphertext = fromBase64(ctText, 'The stored private key');
  const iv = fromBase64(ivText, 'The stored private key');
  const salt = fromBase64(saltText, 'The stored private key');
  if (ciphertext.length <= GCM_TAG_LENGTH) malformed('ciphertext too short');
  if (iv.length === 0) malformed('empty IV');
  if (salt.length === 0) malformed('empty salt');
  return { ciphertext, iv, salt, legacySeparator };
}

/** Turns the decrypted plaintext into PKCS#8 DER; throws `format` errors only. */
export function decodeKeyPlaintext(plaintext: Bytes): Bytes {
  const text = fromUtf8(plaintext).trim();
  let der: Bytes;
  if (text.startsWith('-----BEGIN')) {
    der = pemDecode(text, ['PRIVATE KEY', 'RSA PRIVATE KEY']).der;
  } else {
    const inner = fromBase64(text, 'The decrypted private key');
    if (inner[0] === 0x30) {
      der = inner; // bare DER
    } else {
      der = pemDecode(fromUtf8(inner), ['PRIVATE KEY', 'RSA PRIVATE KEY']).der;
    }
  }
  return toPkcs8(der);
}

export async function unwrapPrivateKey(
  blob: string,
  mnemonic: string[] | string,
  opts?: { variants?: KdfVariant[] },
): Promise<{ pkcs8: Bytes; kdf: KdfVariant }> {
  const { ciphertext, iv, salt } = parseKeyBlob(blob);
  const password = mnemonicKdfPassword(mnemonic);
  if (password.length === 0) emptyMnemonic();
  for (const kdf of opts?.variants ?? KDF_VARIANTS) {
    const key = await pbkdf2(password, salt, kdf.iterations, kdf.hash, 32);
    let plaintext: Bytes;
    try {
      plaintext = await gcmDecrypt(key, iv, ciphertext);
    } catch (e) {
      if (isCipherfoldError(e, 'tag')) continue;
      throw e;
    }
    return { pkcs8: decodeKeyPlaintext(plaintext), kdf: { ...kdf } };
  }
  throw fail(
    'mnemonic',
    "These words don't open your key. Check the spelling and order of the 12 words and try again; if they are right, the stored key may be damaged.",
  );
}
