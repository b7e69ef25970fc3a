/**
 * RSA primitives over WebCrypto: one PKCS#8 key imported twice (RSA-OAEP-SHA256 for decrypting metadata
 * keys, RSASSA-PKCS1-v1_5/SHA-256 for CMS signatures), SPKI public keys.
 */
import { fail } from '../errors';
import type { Bytes } from './bytes';

export interface RsaPrivateKey {
  oaep: CryptoKey;
  sign: CryptoKey;
  pkcs8: Bytes;
}

const TODO = (): never => {
  throw fail(
    'unsupported',
    'Not implemented yet (rsa.ts). This is a development build. Wait for the next commit.',
  );
};

export async function generateRsaKeyPair(): Promise<{ privateKey: RsaPrivateKey; publicSpki: Bytes }> {
  return TODO();
}
export async function importRsaPrivateKey(_pkcs8OrPkcs1Der: Bytes): Promise<RsaPrivateKey> {
  return TODO();
}
export async function rsaOaepEncrypt(_publicSpki: Bytes, _data: Bytes): Promise<Bytes> {
  return TODO();
}
export async function rsaOaepDecrypt(_key: RsaPrivateKey, _data: Bytes): Promise<Bytes> {
  return TODO();
}
export async function rsaPkcs1Verify(
  _hash: 'SHA-1' | 'SHA-256',
  _publicSpki: Bytes,
  _signature: Bytes,
  _data: Bytes,
): Promise<boolean> {
  return TODO();
}
export async function rsaPkcs1Sign(_key: RsaPrivateKey, _data: Bytes): Promise<Bytes> {
  return TODO();
}
export async function publicSpkiOf(_key: RsaPrivateKey): Promise<Bytes> {
  return TODO();
}
