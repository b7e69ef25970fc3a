/**
 * RSA primitives over WebCrypto (protocol.md §3.1, Appendix B).
 *
 * A user key is one PKCS#8 key imported twice, because a `CryptoKey` is bound to one algorithm:
 * RSA-OAEP with SHA-256 / MGF1-SHA-256 (decrypting metadata and filedrop keys) and RSASSA-PKCS1-v1_5 with
 * SHA-256 (CMS signatures). Public keys travel as SPKI DER.
 */
import { fail } from '../errors';
import { concatBytes, copyBytes, type Bytes } from './bytes';

export interface RsaPrivateKey {
  /** RSA-OAEP / SHA-256, usage `decrypt`, not extractable. */
  oaep: CryptoKey;
  /** RSASSA-PKCS1-v1_5 / SHA-256, usage `sign`, not extractable. */
  sign: CryptoKey;
  /** The PKCS#8 DER both were imported from (needed to persist the key). */
  pkcs8: Bytes;
}

const OAEP: RsaHashedImportParams = { name: 'RSA-OAEP', hash: 'SHA-256' };
const PKCS1_SHA256: RsaHashedImportParams = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };

// ---- minimal DER helpers (only what PKCS#1 → PKCS#8 wrapping and sniffing need) ----

function derLength(n: number): Bytes {
  if (n < 0x80) return Uint8Array.of(n) as Bytes;
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return Uint8Array.of(0x80 | out.length, ...out) as Bytes;
}

function derTlv(tag: number, content: Uint8Array): Bytes {
  return concatBytes(Uint8Array.of(tag), derLength(content.length), content);
}

/** Reads the header of a DER element at `pos`; returns content offset and length, or null if malformed. */
function derHeader(b: Uint8Array, pos: number): { tag: number; start: number; len: number } | null {
  if (pos + 2 > b.length) return null;
  const tag = b[pos]!;
  let len = b[pos + 1]!;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > b.length) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    start += n;
  }
  if (start + len > b.length) return null;
  return { tag, start, len };
}

/** rsaEncryption AlgorithmIdentifier: SEQUENCE { OID 1.2.840.113549.1.1.1, NULL }. */
const RSA_ALGORITHM_ID = Uint8Array.of(
  0x30,
  0x0d,
  0x06,
  0x09,
  0x2a,
  0x86,
  0x48,
  0x86,
  0xf7,
  0x0d,
  0x01,
  0x01,
  0x01,
  0x05,
  0x00,
);

/**
 * 'pkcs8' for PrivateKeyInfo (SEQUENCE { INTEGER, SEQUENCE, OCTET STRING … }), 'pkcs1' for RSAPrivateKey
 * (SEQUENCE { INTEGER 0, INTEGER n, … }), null otherwise.
 */
export function sniffPrivateKeyDer(der: Uint8Array): 'pkcs8' | 'pkcs1' | null {
  const outer = derHeader(der, 0);
  if (!outer || outer.tag !== 0x30 || outer.start + outer.len !== der.length) return null;
  const version = derHeader(der, outer.start);
  if (!version || version.tag !== 0x02) return null;
  const next = derHeader(der, version.start + version.len);
  if (!next) return null;
  if (next.tag === 0x30) return 'pkcs8';
  if (next.tag === 0x02) return 'pkcs1';
  return null;
}

/** Wraps a PKCS#1 RSAPrivateKey into PKCS#8 PrivateKeyInfo; PKCS#8 input is returned as a copy. */
export function toPkcs8(der: Uint8Array): Bytes {
  const kind = sniffPrivateKeyDer(der);
  if (kind === 'pkcs8') return copyBytes(der);
  if (kind === 'pkcs1') {
    return derTlv(0x30, concatBytes(Uint8Array.of(0x02, 0x01, 0x00), RSA_ALGORITHM_ID, derTlv(0x04, der)));
  }
  throw fail('format', 'A private key is not in a known format (PKCS#8 or PKCS#1). It may be damaged.');
}

// ---- keys ----

export async function importRsaPrivateKey(pkcs8OrPkcs1Der: Bytes): Promise<RsaPrivateKey> {
  const pkcs8 = toPkcs8(pkcs8OrPkcs1Der);
  try {
    const [oaep, sign] = await Promise.all([
      crypto.subtle.importKey('pkcs8', pkcs8, OAEP, false, ['decrypt']),
      crypto.subtle.importKey('pkcs8', pkcs8, PKCS1_SHA256, false, ['sign']),
    ]);
    return { oaep, sign, pkcs8 };
  } catch (e) {
    throw fail(
      'format',
      'A private key could not be loaded. It is damaged or not an RSA key. Restore it from your recovery words.',
      {
        cause: e,
      },
    );
  }
}

export async function generateRsaKeyPair(): Promise<{ privateKey: RsaPrivateKey; publicSpki: Bytes }> {
  const pair = await crypto.subtle.generateKey(
    { name: 'RSA-OAEP', modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash: 'SHA-256' },
    true,
    ['encrypt', 'decrypt'],
  );
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as Bytes;
  const publicSpki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey)) as Bytes;
  return { privateKey: await importRsaPrivateKey(pkcs8), publicSpki };
}

/** The SPKI DER of the public half of `key` (via JWK: n and e). */
export async function publicSpkiOf(key: RsaPrivateKey): Promise<Bytes> {
  const extractable = await crypto.subtle.importKey('pkcs8', key.pkcs8, OAEP, true, ['decrypt']);
  const jwk = await crypto.subtle.exportKey('jwk', extractable);
  const pub = await crypto.subtle.importKey(
    'jwk',
    { kty: 'RSA', n: jwk.n, e: jwk.e, alg: 'RSA-OAEP-256', ext: true },
    OAEP,
    true,
    ['encrypt'],
  );
  return new Uint8Array(await crypto.subtle.exportKey('spki', pub)) as Bytes;
}

async function importPublic(
  publicSpki: Bytes,
  params: RsaHashedImportParams,
  usage: KeyUsage,
): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey('spki', publicSpki, params, false, [usage]);
  } catch (e) {
    throw fail(
      'format',
      'A public key could not be read. It is damaged or not an RSA key. Ask its owner to set up their keys again.',
      {
        cause: e,
      },
    );
  }
}

// ---- operations ----

/** RSA-OAEP with SHA-256 and MGF1-SHA-256, empty label. */
export async function rsaOaepEncrypt(publicSpki: Bytes, data: Bytes): Promise<Bytes> {
  const key = await importPublic(publicSpki, OAEP, 'encrypt');
  try {
    return new Uint8Array(await crypto.subtle.encrypt({ name: 'RSA-OAEP' }, key, data)) as Bytes;
  } catch (e) {
    throw fail('format', 'Data is too long to encrypt with an RSA key. This is a bug; please report it.', {
      cause: e,
    });
  }
}

export async function rsaOaepDecrypt(key: RsaPrivateKey, data: Bytes): Promise<Bytes> {
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'RSA-OAEP' }, key.oaep, data)) as Bytes;
  } catch (e) {
    throw fail(
      'metadata',
      "Your key can't open the folder key. The folder may have been shared with a different key of yours, or the data is damaged. Ask the folder owner to share it with you again.",
      { cause: e },
    );
  }
}

/** RSASSA-PKCS1-v1_5 verification. Returns false for a wrong signature (including a wrong length). */
export async function rsaPkcs1Verify(
  hash: 'SHA-1' | 'SHA-256',
  publicSpki: Bytes,
  signature: Bytes,
  data: Bytes,
): Promise<boolean> {
  const key = await importPublic(publicSpki, { name: 'RSASSA-PKCS1-v1_5', hash }, 'verify');
  try {
    return await crypto.subtle.verify({ name: 'RSASSA-PKCS1-v1_5' }, key, signature, data);
  } catch {
    return false;
  }
}

/** RSASSA-PKCS1-v1_5 with SHA-256. */
export async function rsaPkcs1Sign(key: RsaPrivateKey, data: Bytes): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.sign({ name: 'RSASSA-PKCS1-v1_5' }, key.sign, data)) as Bytes;
}
