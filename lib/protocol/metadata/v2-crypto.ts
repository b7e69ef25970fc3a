/**
 * Encryption of the 2.x inner document (§6.3): UTF-8 JSON → gzip → AES-128-GCM (tag appended).
 *
 * Write: 12-byte nonce, `ciphertext` = base64(ct‖tag) (optionally with the `|nonce` suffix desktop/iOS
 * write), `nonce`, `authenticationTag` = the trailing tag. Read: any nonce length; `ciphertext` stripped
 * from the first `|` (G-11); nonce from the `nonce` member or, failing that, the suffix; the
 * `authenticationTag` member is advisory — decryption uses the trailing tag and a mismatch is reported.
 */
import {
  equalBytes,
  fromBase64,
  fromUtf8,
  randomBytes,
  toBase64,
  utf8,
  type Bytes,
} from '../../crypto/bytes';
import { gcmDecrypt, gcmEncrypt, GCM_TAG_LENGTH } from '../../crypto/aes-gcm';
import { gunzip, gzip } from '../../crypto/gzip';
import { fail, isCipherfoldError } from '../../errors';
import { parseInnerDocument, innerToJson } from './inner';
import { parseJsonText, MAX_JSON_LENGTH } from './json';
import { warning, type EncryptedMetadataMember, type InnerDocument, type MetadataWarning } from './types';

export const METADATA_NONCE_LENGTH = 12;
export const METADATA_KEY_LENGTH = 16;
/** Decompressed inner documents larger than this are refused (zip bomb guard). */
export const INNER_GUNZIP_LIMIT = MAX_JSON_LENGTH;

const TAG_FAILED =
  'The folder metadata could not be decrypted: it does not match its authentication tag. It was changed or damaged, or the folder key is wrong. Nothing was shown; reload, and ask the folder owner if it persists.';

export function checkMetadataKey(key: Uint8Array): void {
  if (key.length !== METADATA_KEY_LENGTH) {
    throw fail(
      'metadata',
      'A folder metadata key does not have 16 bytes. The metadata may be damaged or hostile.',
    );
  }
}

export interface EncryptOptions {
  /** Default 12 (§6.3 "writers SHOULD use 12"). */
  nonceLength?: number;
  /** Append `|base64(nonce)` to `ciphertext` like desktop/iOS (default false, like the web client). */
  appendNonceSuffix?: boolean;
  /** For tests only: a fixed nonce. */
  nonce?: Bytes;
}

/** Encrypts arbitrary plaintext bytes in the metadata layout (gzip + AES-GCM); also used for filedrop. */
export async function encryptGzipGcm(
  plaintext: Bytes,
  key: Bytes,
  options: EncryptOptions = {},
): Promise<{ ciphertext: string; nonce: string; authenticationTag: string }> {
  checkMetadataKey(key);
  const nonce = options.nonce ?? randomBytes(options.nonceLength ?? METADATA_NONCE_LENGTH);
  const ct = await gcmEncrypt(key, nonce, await gzip(plaintext));
  const nonceB64 = toBase64(nonce);
  const ctB64 = toBase64(ct);
  return {
    ciphertext: options.appendNonceSuffix ? `${ctB64}|${nonceB64}` : ctB64,
    nonce: nonceB64,
    authenticationTag: toBase64(ct.subarray(ct.length - GCM_TAG_LENGTH)),
  };
}

/** Encrypts an inner document; returns the outer `metadata` member (ciphertext, nonce, authenticationTag). */
export async function encryptInnerDocument(
  inner: InnerDocument,
  key: Bytes,
  options: EncryptOptions = {},
): Promise<{ ciphertext: string; nonce: string; authenticationTag: string }> {
  return encryptGzipGcm(utf8(JSON.stringify(innerToJson(inner))), key, options);
}

/** Splits `ciphertext[|nonce]` (G-11): the part before the first `|`, and the suffix if any. */
export function splitCiphertext(ciphertext: string): { body: string; suffix: string | undefined } {
  const i = ciphertext.indexOf('|');
  if (i < 0) return { body: ciphertext, suffix: undefined };
  const rest = ciphertext.slice(i + 1);
  const j = rest.indexOf('|');
  return { body: ciphertext.slice(0, i), suffix: (j < 0 ? rest : rest.slice(0, j)) || undefined };
}

/**
 * Decrypts a gzip+AES-GCM blob in the metadata layout, returning the decompressed plaintext.
 * Errors: `format` (base64/gzip), `tag` (GCM), `metadata` (shape).
 */
export async function decryptGzipGcm(
  member: EncryptedMetadataMember,
  key: Bytes,
  limit = INNER_GUNZIP_LIMIT,
): Promise<{ plaintext: Bytes; warnings: MetadataWarning[] }> {
  checkMetadataKey(key);
  const warnings: MetadataWarning[] = [];
  const { body, suffix } = splitCiphertext(member.ciphertext);
  const ct = fromBase64(body, 'The encrypted folder metadata');
  if (ct.length < GCM_TAG_LENGTH) {
    throw fail(
      'metadata',
      'The encrypted folder metadata is shorter than its authentication tag. It is damaged.',
    );
  }
  const nonces: Bytes[] = [];
  if (member.nonce !== undefined && member.nonce !== '')
    nonces.push(fromBase64(member.nonce, 'A metadata nonce'));
  if (suffix !== undefined) {
    let s: Bytes | undefined;
    try {
      s = fromBase64(suffix, 'A metadata nonce');
    } catch (e) {
      if (nonces.length === 0) throw e;
    }
    if (s && s.length > 0) {
      if (nonces.length === 0) nonces.push(s);
      else if (!equalBytes(nonces[0]!, s)) {
        warnings.push(
          warning('nonce-mismatch', 'The metadata nonce and the nonce after the ciphertext differ.'),
        );
        nonces.push(s);
      }
    }
  }
  if (nonces.length === 0 || nonces[0]!.length === 0) {
    throw fail(
      'metadata',
      'The folder metadata has no nonce. It is damaged or was not written by a Nextcloud client.',
    );
  }
  if (member.authenticationTag !== undefined && member.authenticationTag !== '') {
    let advisory: Bytes | undefined;
    try {
      advisory = fromBase64(member.authenticationTag);
    } catch {
      advisory = undefined;
    }
    if (!advisory || !equalBytes(advisory, ct.subarray(ct.length - GCM_TAG_LENGTH))) {
      warnings.push(
        warning(
          'tag-mismatch',
          'The metadata authenticationTag member differs from the tag that ends the ciphertext.',
        ),
      );
    }
  }
  let compressed: Bytes | undefined;
  let lastError: unknown;
  for (const nonce of nonces) {
    if (nonce.length === 0) continue;
    try {
      compressed = await gcmDecrypt(key, nonce, ct, undefined, TAG_FAILED);
      break;
    } catch (e) {
      lastError = e;
    }
  }
  if (!compressed)
    throw isCipherfoldError(lastError) ? lastError : fail('tag', TAG_FAILED, { cause: lastError });
  if (compressed.length >= 2 && compressed[0] === 0x1f && compressed[1] === 0x8b) {
    return { plaintext: await gunzip(compressed, limit), warnings };
  }
  // Tolerate an uncompressed JSON plaintext (not written by current clients, harmless to accept).
  if (compressed.length > 0 && (compressed[0] === 0x7b || compressed[0] === 0x20 || compressed[0] === 0x0a)) {
    warnings.push(warning('not-gzipped', 'The decrypted folder metadata was not compressed.'));
    return { plaintext: compressed, warnings };
  }
  throw fail(
    'format',
    'The decrypted folder metadata is not gzip data. It is damaged or written by an incompatible client.',
  );
}

/** Decrypts and validates an inner document (§6.3, §6.4). */
export async function decryptInnerDocument(
  member: EncryptedMetadataMember,
  key: Bytes,
): Promise<{ inner: InnerDocument; warnings: MetadataWarning[]; innerText: string }> {
  const { plaintext, warnings } = await decryptGzipGcm(member, key);
  const innerText = fromUtf8(plaintext);
  const parsed = parseInnerDocument(parseJsonText(innerText, 'The decrypted folder metadata'));
  return { inner: parsed.inner, warnings: [...warnings, ...parsed.warnings], innerText };
}
