/** PBKDF2-HMAC via WebCrypto. */
import type { Bytes } from './bytes';
import type { HashName } from './hash';

export async function pbkdf2(
  password: Bytes,
  salt: Bytes,
  iterations: number,
  hash: HashName,
  lengthBytes: number,
): Promise<Bytes> {
  const base = await crypto.subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash, salt, iterations },
    base,
    lengthBytes * 8,
  );
  return new Uint8Array(bits) as Bytes;
}
