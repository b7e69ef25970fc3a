/** Server-issued user certificates (protocol.md §3.3, §3.4, G-21, G-22). */
import 'reflect-metadata';
import { fail } from '../errors';
import type { Bytes } from '../crypto/bytes';

export interface ParsedCertificate {
  pem: string;
  der: Bytes;
  commonName: string;
  subjectDn: string;
  issuerDn: string;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  signatureHash: 'SHA-1' | 'SHA-256';
  publicSpki: Bytes;
  tbs: Bytes;
  signature: Bytes;
}

const TODO = (): never => {
  throw fail(
    'unsupported',
    'Not implemented yet (certificate.ts). This is a development build. Wait for the next commit.',
  );
};
export function parseCertificate(_pem: string): ParsedCertificate {
  return TODO();
}
export async function verifyCertificate(
  _cert: ParsedCertificate,
  _serverPublicKeyPem: string,
  _opts: { expectedCommonName?: string; now?: Date; skewSeconds?: number },
): Promise<void> {
  return TODO();
}
export function certificateMatchesKey(_cert: ParsedCertificate, _publicSpki: Bytes): boolean {
  return TODO();
}
