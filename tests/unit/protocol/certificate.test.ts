import 'reflect-metadata';
import { X509Certificate as NodeX509, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCipherfoldError } from '../../../lib/errors';
import { copyBytes, equalBytes, type Bytes } from '../../../lib/crypto/bytes';
import { pemEncode } from '../../../lib/crypto/pem';
import {
  certificateMatchesKey,
  parseCertificate,
  verifyCertificate,
  type ParsedCertificate,
} from '../../../lib/protocol/certificate';
import {
  NO_OPENSSL_REASON,
  OPENSSL,
  issueLikeServer,
  nodeRsa,
  openssl,
  tempDir,
} from './certificate.helpers';

const DESKTOP_DN = '/C=DE/ST=Baden-Wuerttemberg/L=Stuttgart/O=Nextcloud/CN=alice';

async function certError(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(isCipherfoldError(e, 'certificate'), String(e)).toBe(true);
  return e as Error;
}

function kindOf(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    if (!isCipherfoldError(e)) throw e;
    return e.kind;
  }
}

/** A CSR for a fresh user key, made by OpenSSL (independent of our CSR writer). */
function opensslCsr(subject: string, keyPem: string): string {
  const t = tempDir();
  try {
    return openssl(['req', '-new', '-key', t.file('k.pem', keyPem), '-subj', subject, '-sha256']).toString();
  } finally {
    t.cleanup();
  }
}

describe.skipIf(!OPENSSL)(
  `certificates issued like the server by openssl (skipped if ${NO_OPENSSL_REASON})`,
  () => {
    const server = nodeRsa();
    const user = nodeRsa();
    const userSpki = copyBytes(user.publicKey.export({ type: 'spki', format: 'der' }));
    let sha1Pem: string;
    let sha256Pem: string;
    let sha1: ParsedCertificate;
    let sha256: ParsedCertificate;

    beforeAll(() => {
      const csr = opensslCsr(DESKTOP_DN, user.privatePem);
      sha1Pem = issueLikeServer(csr, server.privatePem, { hash: 'sha1' });
      sha256Pem = issueLikeServer(csr, server.privatePem, { hash: 'sha256' });
      sha1 = parseCertificate(sha1Pem);
      sha256 = parseCertificate(sha256Pem);
    });

    it('parses fields in agreement with Node’s X509Certificate', () => {
      for (const [pem, parsed] of [
        [sha1Pem, sha1],
        [sha256Pem, sha256],
      ] as const) {
        const n = new NodeX509(pem);
        expect(parsed.commonName).toBe('alice');
        expect(parsed.serialHex).toBe('00');
        expect(BigInt('0x' + n.serialNumber)).toBe(0n);
        expect(parsed.subjectDn).toBe('C=DE, ST=Baden-Wuerttemberg, L=Stuttgart, O=Nextcloud, CN=alice');
        expect(parsed.issuerDn).toBe(parsed.subjectDn);
        expect(n.issuer).toBe(n.subject);
        expect(parsed.notBefore.getTime()).toBe(new Date(n.validFrom).getTime());
        expect(parsed.notAfter.getTime()).toBe(new Date(n.validTo).getTime());
        expect(Math.round((parsed.notAfter.getTime() - parsed.notBefore.getTime()) / 86400000)).toBe(7300);
        expect(equalBytes(parsed.publicSpki, userSpki)).toBe(true);
        expect(equalBytes(parsed.der, copyBytes(n.raw))).toBe(true);
        expect(parsed.pem).toBe(pem); // OpenSSL writes the canonical PEM form too
      }
      expect(sha1.signatureHash).toBe('SHA-1');
      expect(sha256.signatureHash).toBe('SHA-256');
    });

    it('tbs and signature are the exact signed bytes (checked with Node verify)', async () => {
      const { verify } = await import('node:crypto');
      expect(verify('sha1', sha1.tbs, server.publicKey, sha1.signature)).toBe(true);
      expect(verify('sha256', sha256.tbs, server.publicKey, sha256.signature)).toBe(true);
    });

    it('verifies SHA-1 and SHA-256 certificates directly with the server key (issuer = subject, serial 0)', async () => {
      await verifyCertificate(sha1, server.publicPem, { expectedCommonName: 'alice' });
      await verifyCertificate(sha256, server.publicPem, { expectedCommonName: 'alice' });
      await verifyCertificate(sha256, server.publicPem, {});
    });

    it('rejects a certificate signed by another key, naming the signature check', async () => {
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const e = await certError(
        verifyCertificate(sha256, other.publicKey.export({ type: 'spki', format: 'pem' }).toString(), {}),
      );
      expect(e.message).toMatch(/signature/);
      expect(e.message).toMatch(/alice/);
    });

    it('rejects a tampered tbsCertificate', async () => {
      const der = copyBytes(sha256.der);
      const i = sha256.der.length - sha256.signature.length - 40; // a byte near the end of tbsCertificate (extensions)
      der[i]! ^= 0x01;
      const tampered = parseCertificate(pemEncode('CERTIFICATE', der));
      expect(equalBytes(tampered.tbs, sha256.tbs)).toBe(false);
      expect(equalBytes(tampered.signature, sha256.signature)).toBe(true);
      await certError(verifyCertificate(tampered, server.publicPem, {}));
    });

    it('checks the validity window with ±60 s skew', async () => {
      const nb = sha256.notBefore.getTime();
      const na = sha256.notAfter.getTime();
      await verifyCertificate(sha256, server.publicPem, { now: new Date(nb - 59_000) });
      await verifyCertificate(sha256, server.publicPem, { now: new Date(na + 59_000) });
      expect(
        (await certError(verifyCertificate(sha256, server.publicPem, { now: new Date(nb - 61_000) })))
          .message,
      ).toMatch(/not valid yet/);
      expect(
        (await certError(verifyCertificate(sha256, server.publicPem, { now: new Date(na + 61_000) })))
          .message,
      ).toMatch(/expired/);
      await certError(
        verifyCertificate(sha256, server.publicPem, { now: new Date(nb - 10_000), skewSeconds: 5 }),
      );
    });

    it('checks the CN against the expected user id exactly (case matters)', async () => {
      const e = await certError(verifyCertificate(sha256, server.publicPem, { expectedCommonName: 'Alice' }));
      expect(e.message).toMatch(/common name/);
      await certError(verifyCertificate(sha256, server.publicPem, { expectedCommonName: 'bob' }));
    });

    it('matches the certificate to its key by modulus and exponent', () => {
      expect(certificateMatchesKey(sha256, userSpki)).toBe(true);
      expect(certificateMatchesKey(sha1, userSpki)).toBe(true);
      expect(
        certificateMatchesKey(sha256, copyBytes(server.publicKey.export({ type: 'spki', format: 'der' }))),
      ).toBe(false);
      expect(certificateMatchesKey(sha256, copyBytes(new Uint8Array(10)))).toBe(false);
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      expect(
        certificateMatchesKey(sha256, copyBytes(ec.publicKey.export({ type: 'spki', format: 'der' }))),
      ).toBe(false);
    });

    it('rejects a server key that is not an SPKI PEM with a format error', async () => {
      const e = await verifyCertificate(sha256, sha256Pem, {}).catch((x: unknown) => x);
      expect(isCipherfoldError(e, 'format')).toBe(true);
    });

    it('rejects a subject with two CNs', () => {
      const pem = issueLikeServer(opensslCsr('/CN=alice/CN=bob', user.privatePem), server.privatePem, {
        hash: 'sha256',
      });
      expect(kindOf(() => parseCertificate(pem))).toBe('certificate');
    });

    it('rejects a non-RSA key and unsupported signature algorithms', () => {
      const t = tempDir();
      try {
        const ecKey = t.file('ec.pem');
        openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', ecKey]);
        const ecCert = openssl([
          'req',
          '-new',
          '-x509',
          '-key',
          ecKey,
          '-subj',
          '/CN=alice',
          '-days',
          '1',
        ]).toString();
        expect(kindOf(() => parseCertificate(ecCert))).toBe('certificate');
        const sha384 = issueLikeServer(opensslCsr('/CN=alice', user.privatePem), server.privatePem, {
          hash: 'sha384' as 'sha256',
        });
        expect(kindOf(() => parseCertificate(sha384))).toBe('certificate');
      } finally {
        t.cleanup();
      }
    });

    it('fuzz: mutated certificates give a typed error or a parse (never a crash)', () => {
      const der = sha256.der;
      fc.assert(
        fc.property(
          fc.array(fc.record({ pos: fc.nat(der.length - 1), val: fc.integer({ min: 0, max: 255 }) }), {
            minLength: 1,
            maxLength: 4,
          }),
          fc.nat(der.length),
          (flips, cut) => {
            const m = copyBytes(der.subarray(0, Math.max(1, cut)));
            for (const f of flips) if (f.pos < m.length) m[f.pos] = f.val;
            const k = kindOf(() => parseCertificate(pemEncode('CERTIFICATE', m)));
            return k === null || k === 'format' || k === 'certificate';
          },
        ),
        { numRuns: 3000 },
      );
    });
  },
);

describe('certificates without openssl', () => {
  it('parses a @peculiar/x509 self-issued certificate with a UTF-8 CN', async () => {
    const alg = {
      name: 'RSASSA-PKCS1-v1_5',
      hash: 'SHA-256',
      publicExponent: new Uint8Array([1, 0, 1]),
      modulusLength: 2048,
    };
    const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: '00',
      subject: [{ CN: ['s:tökén'] }],
      issuer: [{ CN: ['s:tökén'] }],
      notBefore: new Date('2024-01-01T00:00:00Z'),
      notAfter: new Date('2044-01-01T00:00:00Z'),
      signingAlgorithm: alg,
      publicKey: keys.publicKey,
      signingKey: keys.privateKey,
    });
    const parsed = parseCertificate(cert.toString('pem'));
    expect(parsed.commonName).toBe('s:tökén');
    expect(parsed.serialHex).toBe(cert.serialNumber.toLowerCase().replace(/^(00)+(?=..)/, ''));
    expect(parsed.issuerDn).toBe('CN=s:tökén');
    const spkiPem = pemEncode(
      'PUBLIC KEY',
      new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey)) as Bytes,
    );
    await verifyCertificate(parsed, spkiPem, { expectedCommonName: 's:tökén', now: new Date('2030-01-01') });
    await certError(verifyCertificate(parsed, spkiPem, { now: new Date('2045-01-01') }));
  });

  it.each([
    ['empty', ''],
    ['not a certificate', 'hello, I am not a certificate'],
    [
      'a private key PEM',
      createPrivateKey(nodeRsa().privatePem).export({ type: 'pkcs8', format: 'pem' }).toString(),
    ],
    ['random DER', pemEncode('CERTIFICATE', copyBytes(new Uint8Array(300).fill(0x30)))],
    ['truncated', pemEncode('CERTIFICATE', Uint8Array.of(0x30, 0x82, 0x05) as Bytes)],
  ])('rejects %s with a typed error', (_n, text) => {
    expect(['format', 'certificate']).toContain(kindOf(() => parseCertificate(text)));
  });

  it('fuzz: random bytes as certificate only give typed errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 400 }), (b) => {
        const k = kindOf(() => parseCertificate(pemEncode('CERTIFICATE', copyBytes(b))));
        return k === 'format' || k === 'certificate';
      }),
      { numRuns: 3000 },
    );
  });

  it('fuzz: random ASN.1-shaped bytes only give typed errors', () => {
    const tlv = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc
          .tuple(
            fc.constantFrom(0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x17, 0x18),
            fc.uint8Array({ maxLength: 20 }),
          )
          .map(([t, c]) => [t, c.length, ...c]),
        fc
          .tuple(fc.constantFrom(0x30, 0x31, 0xa0, 0xa3), fc.array(tie('node'), { maxLength: 5 }))
          .map(([t, kids]) => {
            const c = (kids as number[][]).flat();
            return c.length < 128 ? [t, c.length, ...c] : [t, 0x82, c.length >> 8, c.length & 255, ...c];
          }),
      ),
    }));
    fc.assert(
      fc.property(tlv.node, (arr) => {
        const k = kindOf(() =>
          parseCertificate(pemEncode('CERTIFICATE', copyBytes(Uint8Array.from(arr as number[])))),
        );
        return k === 'format' || k === 'certificate';
      }),
      { numRuns: 3000 },
    );
  });
});
