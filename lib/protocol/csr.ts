/** PKCS#10 certificate signing request (protocol.md §3.2). */
import 'reflect-metadata';
import { fail } from '../errors';
import type { Bytes } from '../crypto/bytes';
import type { RsaPrivateKey } from '../crypto/rsa';

export async function createCsr(
  _key: RsaPrivateKey,
  _publicSpki: Bytes,
  _commonName: string,
): Promise<string> {
  throw fail(
    'unsupported',
    'Not implemented yet (csr.ts). This is a development build. Wait for the next commit.',
  );
}
