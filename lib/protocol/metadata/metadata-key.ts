/**
 * Unwrapping and wrapping the 16-byte metadata key per user (§6.2).
 *
 * Unwrap: RSA-OAEP (SHA-256/MGF1-SHA-256) with WebCrypto. If that fails, an RSAES-PKCS1-v1_5 attempt is made
 * (G-35: desktop with a PKCS#11 hardware token wraps keys that way). WebCrypto cannot do v1.5 decryption, so
 * it is done here with BigInt arithmetic from the PKCS#8 key (CRT). LIMITATIONS of that fallback: it is not
 * constant-time and unblinded; it only runs after OAEP failed, every failure path ends in the same error,
 * and a key obtained that way must still pass the key-checksum check before anything is used.
 */
import { fromBase64, toBase64, type Bytes, bytes } from '../../crypto/bytes';
import { rsaOaepDecrypt, rsaOaepEncrypt, type RsaPrivateKey } from '../../crypto/rsa';
import { fail, isCipherfoldError } from '../../errors';
import { parseCertificate } from '../certificate';
import { METADATA_KEY_LENGTH } from './v2-crypto';

const CANNOT_OPEN =
  "Your key can't open the folder key. The folder may have been shared with a different key of yours, or the data is damaged. Ask the folder owner to share it with you again.";

// ---- minimal DER reader for RSAPrivateKey inside PKCS#8 ----

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function readTlv(b: Uint8Array, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) throw new Error('truncated');
  const tag = b[pos]!;
  let len = b[pos + 1]!;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new Error('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    start += n;
  }
  if (start + len > limit) throw new Error('truncated');
  return { tag, start, end: start + len };
}

function children(b: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.start; p < parent.end;) {
    const t = readTlv(b, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

function bigintOf(b: Uint8Array, t: Tlv): bigint {
  if (t.tag !== 0x02) throw new Error('not an integer');
  let v = 0n;
  for (let i = t.start; i < t.end; i++) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

interface RsaCrt {
  n: bigint;
  p: bigint;
  q: bigint;
  dp: bigint;
  dq: bigint;
  qinv: bigint;
}

function parsePkcs8Rsa(der: Uint8Array): RsaCrt {
  const outer = readTlv(der, 0, der.length);
  const parts = children(der, outer);
  const octet = parts[2];
  if (!octet || octet.tag !== 0x04) throw new Error('not PKCS#8');
  const rsa = readTlv(der, octet.start, octet.end);
  const f = children(der, rsa).map((t) => bigintOf(der, t));
  if (f.length < 9) throw new Error('not an RSA key');
  return { n: f[1]!, p: f[4]!, q: f[5]!, dp: f[6]!, dq: f[7]!, qinv: f[8]! };
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

/** RSAES-PKCS1-v1_5 decryption (RFC 8017 §7.2.2); returns undefined on any padding error. */
export function rsaPkcs1v15Decrypt(pkcs8: Uint8Array, ciphertext: Uint8Array): Bytes | undefined {
  let k: RsaCrt;
  try {
    k = parsePkcs8Rsa(pkcs8);
  } catch {
    return undefined;
  }
  const kLen = Math.ceil(k.n.toString(16).length / 2);
  if (ciphertext.length !== kLen || kLen < 11) return undefined;
  let c = 0n;
  for (const x of ciphertext) c = (c << 8n) | BigInt(x);
  if (c >= k.n) return undefined;
  const m1 = modPow(c, k.dp, k.p);
  const m2 = modPow(c, k.dq, k.q);
  const h = (((m1 - m2) % k.p) + k.p) % k.p;
  const m = m2 + ((h * k.qinv) % k.p) * k.q;
  const em = bytes(kLen);
  let v = m;
  for (let i = kLen - 1; i >= 0; i--) {
    em[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (em[0] !== 0 || em[1] !== 2) return undefined;
  let sep = -1;
  for (let i = 2; i < kLen; i++) {
    if (em[i] === 0) {
      sep = i;
      break;
    }
  }
  if (sep < 10) return undefined; // at least 8 bytes of non-zero padding
  return em.slice(sep + 1) as Bytes;
}

/**
 * Decrypts a user's `encryptedMetadataKey` (base64). Returns the raw plaintext bytes and whether the v1.5
 * fallback was needed. Length is NOT checked here (1.x wraps a double-base64 text).
 */
export async function unwrapWithRsa(
  key: RsaPrivateKey,
  encryptedB64: string,
  options: { allowPkcs1v15?: boolean } = {},
): Promise<{ plaintext: Bytes; pkcs1v15: boolean }> {
  const ct = fromBase64(encryptedB64, 'An encrypted folder key');
  try {
    return { plaintext: await rsaOaepDecrypt(key, ct), pkcs1v15: false };
  } catch (e) {
    if (options.allowPkcs1v15 !== false) {
      const p = rsaPkcs1v15Decrypt(key.pkcs8, ct);
      if (p) return { plaintext: p, pkcs1v15: true };
    }
    throw isCipherfoldError(e) ? e : fail('metadata', CANNOT_OPEN, { cause: e });
  }
}

/** Decrypts a 2.x metadata key (raw 16 bytes). */
export async function decryptMetadataKey(
  key: RsaPrivateKey,
  encryptedB64: string,
  options: { allowPkcs1v15?: boolean } = {},
): Promise<{ metadataKey: Bytes; pkcs1v15: boolean }> {
  const { plaintext, pkcs1v15 } = await unwrapWithRsa(key, encryptedB64, options);
  if (plaintext.length !== METADATA_KEY_LENGTH) {
    throw fail(
      'metadata',
      'The folder key has the wrong length. The metadata may be damaged, or written by an incompatible client. Ask the folder owner.',
    );
  }
  return { metadataKey: plaintext, pkcs1v15 };
}

/** Encrypts the raw 16-byte metadata key for the holder of `certificatePem` (RSA-OAEP-SHA256), base64. */
export async function encryptMetadataKeyFor(certificatePem: string, metadataKey: Bytes): Promise<string> {
  if (metadataKey.length !== METADATA_KEY_LENGTH) {
    throw fail('metadata', 'A folder key does not have 16 bytes. This is a bug; please report it.');
  }
  const cert = parseCertificate(certificatePem);
  return toBase64(await rsaOaepEncrypt(cert.publicSpki, metadataKey));
}
