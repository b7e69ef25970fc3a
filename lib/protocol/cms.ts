/** Detached CMS SignedData for metadata signatures (protocol.md §6.8.3, §6.8.4). */
import { fail } from '../errors';
import type { Bytes } from '../crypto/bytes';
import type { RsaPrivateKey } from '../crypto/rsa';
import type { ParsedCertificate } from './certificate';

export interface CmsSignature {
  der: Bytes;
  signerIssuerDn: string;
  signerSerialHex: string;
  /** PEM */
  embeddedCertificates: string[];
  signedAttrsDer: Bytes;
  messageDigest: Bytes;
  signature: Bytes;
  signatureHash: 'SHA-256' | 'SHA-1';
}

const TODO = (): never => {
  throw fail(
    'unsupported',
    'Not implemented yet (cms.ts). This is a development build. Wait for the next commit.',
  );
};
export async function signDetached(
  _content: Bytes,
  _signer: { key: RsaPrivateKey; certificatePem: string },
  _signingTime?: Date,
): Promise<string> {
  return TODO();
}
export function parseCmsSignature(_base64: string): CmsSignature {
  return TODO();
}
export async function verifyDetached(
  _sig: CmsSignature,
  _contentCandidates: Bytes[],
  _signers: { userId: string; certificate: ParsedCertificate }[],
): Promise<{ userId: string; candidateIndex: number }> {
  return TODO();
}
