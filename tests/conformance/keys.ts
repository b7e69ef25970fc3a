/** RSA keys, CSRs and certificate checks for the conformance suite (@peculiar/x509 + WebCrypto). */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

const RSA = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };

/** Generates `n` RSA-2048 key pairs (slow on 2 cores; do it once per file). */
export async function makeKeys(n: number): Promise<CryptoKeyPair[]> {
  const out: CryptoKeyPair[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      (await crypto.subtle.generateKey({ ...RSA, hash: 'SHA-256' }, true, [
        'sign',
        'verify',
      ])) as CryptoKeyPair,
    );
  }
  return out;
}

/** PKCS#10 PEM with the given subject (default `CN=<uid>`), self-signed with SHA-256. */
export async function makeCsr(keys: CryptoKeyPair, subject: string): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subject,
    keys,
    signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  });
  return csr.toString('pem');
}

export async function spki(keys: CryptoKeyPair): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
}

export function parseCert(pem: string): x509.X509Certificate {
  return new x509.X509Certificate(pem);
}

/** Hash name from the certificate's signature algorithm ('SHA-1' / 'SHA-256' / …). */
export function certHash(cert: x509.X509Certificate): string {
  const alg = cert.signatureAlgorithm as { name: string; hash?: { name: string } };
  return alg.hash?.name ?? 'unknown';
}

function pemBody(pem: string): Uint8Array<ArrayBuffer> {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

/** Verifies the certificate signature with the server's SPKI PEM, using the certificate's own hash. */
export async function verifiedByServerKey(
  cert: x509.X509Certificate,
  serverKeyPem: string,
): Promise<boolean> {
  const key = await crypto.subtle.importKey(
    'spki',
    pemBody(serverKeyPem),
    { name: 'RSASSA-PKCS1-v1_5', hash: certHash(cert) },
    false,
    ['verify'],
  );
  return cert.verify({ publicKey: key, signatureOnly: true });
}

export { x509 };
