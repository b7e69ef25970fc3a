import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCipherfoldError } from '../../../lib/errors';
import { copyBytes, type Bytes } from '../../../lib/crypto/bytes';
import { pemDecode } from '../../../lib/crypto/pem';
import { generateRsaKeyPair, type RsaPrivateKey } from '../../../lib/crypto/rsa';
import {
  certificateMatchesKey,
  parseCertificate,
  verifyCertificate,
} from '../../../lib/protocol/certificate';
import { createCsr } from '../../../lib/protocol/csr';
import {
  NO_OPENSSL_REASON,
  OPENSSL,
  issueLikeServer,
  nodeRsa,
  openssl,
  opensslRun,
  tempDir,
} from './certificate.helpers';

let key: RsaPrivateKey;
let spki: Bytes;
beforeAll(async () => {
  ({ privateKey: key, publicSpki: spki } = await generateRsaKeyPair());
});

async function formatError(p: Promise<unknown>): Promise<void> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(isCipherfoldError(e, 'format'), String(e)).toBe(true);
}

describe('createCsr', () => {
  it('writes a PEM CERTIFICATE REQUEST in the canonical form', async () => {
    const pem = await createCsr(key, spki, 'alice');
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
    expect(pem.endsWith('-----END CERTIFICATE REQUEST-----\n')).toBe(true);
    expect(pemDecode(pem, ['CERTIFICATE REQUEST']).der.length).toBeGreaterThan(500);
  });

  it('refuses an empty or control-character CN and a foreign public key', async () => {
    await formatError(createCsr(key, spki, ''));
    await formatError(createCsr(key, spki, 'a\nb'));
    const other = copyBytes(
      generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' }),
    );
    await formatError(createCsr(key, other, 'alice'));
    await formatError(createCsr(key, copyBytes(new Uint8Array(20)), 'alice'));
  });
});

describe.skipIf(!OPENSSL)(`createCsr checked by openssl (skipped if ${NO_OPENSSL_REASON})`, () => {
  it.each([
    ['alice', 'CN=alice'],
    ['s:Zx8kPq2Lm', 'CN=s:Zx8kPq2Lm'],
    ['user@example.com', 'CN=user@example.com'],
    ['a,b+c=d', 'CN=a\\,b\\+c=d'],
    ['jürgen', 'CN=jürgen'],
  ])('CN %s: self-signature verifies, SHA-256, exactly one CN', async (cn, rfc2253) => {
    const t = tempDir();
    try {
      const file = t.file('req.pem', await createCsr(key, spki, cn));
      // OpenSSL 3.0 "req -verify" exits 0 even on failure: check its message.
      expect(opensslRun(['req', '-in', file, '-noout', '-verify']).out).toMatch(/self-signature verify OK/);
      const out = openssl([
        'req',
        '-in',
        file,
        '-noout',
        '-subject',
        '-nameopt',
        'RFC2253,-esc_msb',
      ]).toString();
      expect(out.trim()).toBe(`subject=${rfc2253}`);
      const text = openssl(['req', '-in', file, '-noout', '-text']).toString();
      expect(text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
      expect(text).toMatch(/Public-Key: \(2048 bit\)/);
      expect(text).toMatch(/Exponent: 65537/);
    } finally {
      t.cleanup();
    }
  });

  it('a tampered CSR fails openssl verification (the check above can fail)', async () => {
    const pem = await createCsr(key, spki, 'alice');
    const der = pemDecode(pem).der;
    der[der.length - 10]! ^= 1; // inside the signature
    const t = tempDir();
    try {
      const file = t.file('req.der', der);
      const v = opensslRun(['req', '-inform', 'DER', '-in', file, '-noout', '-verify']);
      expect(v.out).toMatch(/self-signature verify failure/);
      expect(v.out).not.toMatch(/verify OK/);
    } finally {
      t.cleanup();
    }
  });

  it('full first-device flow: CSR → server-style certificate → verify → matches our key', async () => {
    const server = nodeRsa();
    const certPem = issueLikeServer(await createCsr(key, spki, 'alice'), server.privatePem, {
      hash: 'sha256',
    });
    const cert = parseCertificate(certPem);
    expect(cert.subjectDn).toBe('CN=alice');
    expect(cert.issuerDn).toBe('CN=alice');
    await verifyCertificate(cert, server.publicPem, { expectedCommonName: 'alice' });
    expect(certificateMatchesKey(cert, spki)).toBe(true);
  });
});
