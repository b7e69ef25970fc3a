/**
 * PKCS#10 certificate signing request (protocol.md §3.2): subject `CN=<user id>` (or `CN=s:<token>` for a
 * link-share key) and nothing else, signed with RSASSA-PKCS1-v1_5 / SHA-256, PEM-encoded.
 */
import 'reflect-metadata';
import { Pkcs10CertificateRequestGenerator } from '@peculiar/x509';
import { fail } from '../errors';
import { equalBytes, type Bytes } from '../crypto/bytes';
import { pemEncode } from '../crypto/pem';
import { publicSpkiOf, type RsaPrivateKey } from '../crypto/rsa';

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export async function createCsr(key: RsaPrivateKey, publicSpki: Bytes, commonName: string): Promise<string> {
  if (typeof commonName !== 'string' || commonName.length === 0 || hasControlCharacter(commonName)) {
    throw fail(
      'format',
      'The user id for a certificate request is empty or contains control characters. This is a bug; please report it.',
    );
  }
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  let publicKey: CryptoKey;
  try {
    publicKey = await crypto.subtle.importKey('spki', publicSpki, algorithm, true, ['verify']);
  } catch (e) {
    throw fail(
      'format',
      'The public key for a certificate request could not be read. It is damaged or not an RSA key. Create a new key pair.',
      { cause: e },
    );
  }
  if (!equalBytes(await publicSpkiOf(key), publicSpki)) {
    throw fail(
      'format',
      'The public key for a certificate request does not belong to the private key. This is a bug; please report it.',
    );
  }
  // JSON name form: no DN-string escaping issues for ids containing ',', '+', '=' or '\'.
  const csr = await Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [commonName] }],
    keys: { privateKey: key.sign, publicKey },
    signingAlgorithm: algorithm,
  });
  return pemEncode('CERTIFICATE REQUEST', new Uint8Array(csr.rawData) as Bytes);
}
