/** SHA-1 / SHA-256 via WebCrypto. */
import type { Bytes } from './bytes';

export type HashName = 'SHA-1' | 'SHA-256';

export async function digest(hash: HashName, data: Bytes): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest(hash, data)) as Bytes;
}

export const sha256 = (data: Bytes): Promise<Bytes> => digest('SHA-256', data);
export const sha1 = (data: Bytes): Promise<Bytes> => digest('SHA-1', data);
