import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import fc from 'fast-check';
import * as pkijs from 'pkijs';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCipherfoldError } from '../../../lib/errors';
import {
  copyBytes,
  equalBytes,
  fromBase64,
  toBase64,
  toHex,
  utf8,
  type Bytes,
} from '../../../lib/crypto/bytes';
import { sha256 } from '../../../lib/crypto/hash';
import { pemDecode } from '../../../lib/crypto/pem';
import { generateRsaKeyPair, type RsaPrivateKey } from '../../../lib/crypto/rsa';
import { signedContentCandidates, type Json } from '../../../lib/protocol/canonical-json';
import { parseCertificate, type ParsedCertificate } from '../../../lib/protocol/certificate';
import {
  parseCmsSignature,
  signDetached,
  verifyDetached,
  type CmsSignature,
} from '../../../lib/protocol/cms';
import { createCsr } from '../../../lib/protocol/csr';
import {
  NO_OPENSSL_REASON,
  OPENSSL,
  issueLikeServer,
  nodeRsa,
  opensslRun,
  read,
  tempDir,
} from './certificate.helpers';

interface User {
  id: string;
  key: RsaPrivateKey;
  keyPem: string;
  certPem: string;
  cert: ParsedCertificate;
}

const server = nodeRsa();

/** A user with a server-style certificate: by openssl when present (serial 0), else by @peculiar/x509. */
async function makeUser(id: string, subject?: string): Promise<User> {
  const { privateKey, publicSpki } = await generateRsaKeyPair();
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${toBase64(privateKey.pkcs8)
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END PRIVATE KEY-----\n`;
  let certPem: string;
  if (OPENSSL) {
    certPem = issueLikeServer(await createCsr(privateKey, publicSpki, id), server.privatePem, {
      hash: 'sha256',
      subject,
    });
  } else {
    const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const signingKey = await crypto.subtle.importKey('pkcs8', pemDecode(server.privatePem).der, alg, false, [
      'sign',
    ]);
    const publicKey = await crypto.subtle.importKey('spki', publicSpki, alg, true, ['verify']);
    const name = [{ CN: [id] }];
    const c = await x509.X509CertificateGenerator.create({
      serialNumber: '01',
      subject: name,
      issuer: name,
      notBefore: new Date(),
      notAfter: new Date(Date.now() + 1e11),
      signingAlgorithm: alg,
      publicKey,
      signingKey,
    });
    certPem = c.toString('pem');
  }
  return { id, key: privateKey, keyPem, certPem, cert: parseCertificate(certPem) };
}

async function sigError(p: Promise<unknown> | (() => unknown), kinds = ['signature']): Promise<Error> {
  let e: unknown = null;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (x) {
    e = x;
  }
  expect(isCipherfoldError(e), String(e)).toBe(true);
  expect(kinds).toContain((e as { kind: string }).kind);
  return e as Error;
}

const OID_HEX = {
  contentType: '06092a864886f70d010903',
  signingTime: '06092a864886f70d010905',
  messageDigest: '06092a864886f70d010904',
  smimeCaps: '06092a864886f70d01090f',
};

const doc = {
  metadata: { ciphertext: 'Y3Q=|bm9uY2U=', nonce: 'bm9uY2U=', authenticationTag: 'dGFn' },
  users: [] as Json[],
  version: '2.0',
};

let alice: User;
let bob: User;
let content: Bytes;
let signers: { userId: string; certificate: ParsedCertificate }[];

beforeAll(async () => {
  [alice, bob] = await Promise.all([
    makeUser('alice'),
    makeUser('bob', '/C=DE/ST=Baden-Wuerttemberg/L=Stuttgart/O=Nextcloud/CN=bob'),
  ]);
  doc.users = [
    { userId: 'alice', certificate: alice.certPem, encryptedMetadataKey: 'a2V5' },
    { userId: 'bob', certificate: bob.certPem, encryptedMetadataKey: 'a2V5' },
  ];
  content = signedContentCandidates(doc as unknown as { [k: string]: Json })[0]!;
  signers = [
    { userId: 'bob', certificate: bob.cert },
    { userId: 'alice', certificate: alice.cert },
  ];
});

describe('signDetached / parseCmsSignature', () => {
  it('writes the documented structure', async () => {
    const when = new Date('2026-05-04T03:02:01Z');
    const b64 = await signDetached(content, { key: alice.key, certificatePem: alice.certPem }, when);
    expect(b64).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    const sig = parseCmsSignature(b64);
    expect(sig.signerIssuerDn).toBe(alice.cert.issuerDn);
    expect(sig.signerSerialHex).toBe(alice.cert.serialHex);
    expect(sig.embeddedCertificates).toEqual([alice.cert.pem]);
    expect(sig.signatureHash).toBe('SHA-256');
    expect(equalBytes(sig.messageDigest, await sha256(content))).toBe(true);
    expect(sig.signature.length).toBe(256);
    // signed attributes: SET, DER order contentType < signingTime < messageDigest, UTCTime of `when`
    const hex = toHex(sig.signedAttrsDer);
    expect(sig.signedAttrsDer[0]).toBe(0x31);
    const pos = [OID_HEX.contentType, OID_HEX.signingTime, OID_HEX.messageDigest].map((o) => hex.indexOf(o));
    expect(pos.every((p) => p > 0)).toBe(true);
    expect([...pos].sort((a, b) => a - b)).toEqual(pos);
    expect(hex).toContain('170d' + toHex(utf8('260504030201Z')));
    // rsaEncryption signature algorithm (OpenSSL style), IssuerAndSerialNumber, id-data, detached
    const der = toHex(fromBase64(b64));
    expect(der).toContain('300d06092a864886f70d0101010500');
    expect(der).not.toContain('a080'); // no indefinite lengths
  });

  it('round-trips through verifyDetached and reports the signer and candidate', async () => {
    const sig = parseCmsSignature(
      await signDetached(content, { key: alice.key, certificatePem: alice.certPem }),
    );
    expect(await verifyDetached(sig, [utf8('other'), content], signers)).toEqual({
      userId: 'alice',
      candidateIndex: 1,
    });
    const sigB = parseCmsSignature(
      await signDetached(content, { key: bob.key, certificatePem: bob.certPem }),
    );
    expect(await verifyDetached(sigB, [content], signers)).toEqual({ userId: 'bob', candidateIndex: 0 });
  });

  it('uses GeneralizedTime outside 1950–2049', async () => {
    const sig = parseCmsSignature(
      await signDetached(
        content,
        { key: alice.key, certificatePem: alice.certPem },
        new Date('2050-01-01T00:00:00Z'),
      ),
    );
    expect(toHex(sig.signedAttrsDer)).toContain('180f' + toHex(utf8('20500101000000Z')));
    expect((await verifyDetached(sig, [content], signers)).userId).toBe('alice');
  });

  it('refuses to sign with a certificate that is not the key’s', async () => {
    await sigError(signDetached(content, { key: alice.key, certificatePem: bob.certPem }), ['certificate']);
  });
});

describe('verifyDetached: negative cases', () => {
  let sig: CmsSignature;
  beforeAll(async () => {
    sig = parseCmsSignature(await signDetached(content, { key: alice.key, certificatePem: alice.certPem }));
  });

  it('content changed → digest mismatch', async () => {
    const e = await sigError(verifyDetached(sig, [utf8('eyJ2ZXJzaW9uIjoiMi4wIn0=')], signers));
    expect(e.message).toMatch(/message digest/);
    await sigError(verifyDetached(sig, [], signers));
  });

  it('signer not in the users list', async () => {
    const e = await sigError(verifyDetached(sig, [content], [{ userId: 'bob', certificate: bob.cert }]));
    expect(e.message).toMatch(/not in the folder's member list/);
  });

  it('users entry whose certificate CN is not its userId', async () => {
    const e = await sigError(
      verifyDetached(sig, [content], [{ userId: 'mallory', certificate: alice.cert }]),
    );
    expect(e.message).toMatch(/CN/);
  });

  it('signature value changed', async () => {
    const s = { ...sig, signature: copyBytes(sig.signature) };
    s.signature[100]! ^= 1;
    const e = await sigError(verifyDetached(s, [content], signers));
    expect(e.message).toMatch(/RSA check failed/);
  });

  it('signed attributes changed (signing time) → RSA fails; attributes are taken from the signed bytes', async () => {
    const attrs = copyBytes(sig.signedAttrsDer);
    const i = toHex(attrs).indexOf('170d') / 2 + 3;
    attrs[i]! ^= 1;
    await sigError(verifyDetached({ ...sig, signedAttrsDer: attrs }, [content], signers));
    // a forged convenience field does not help: the digest comes from signedAttrsDer
    await sigError(verifyDetached({ ...sig, messageDigest: await sha256(utf8('x')) }, [utf8('x')], signers));
  });

  it('an impostor certificate with the same DN and serial but another key does not verify', async () => {
    const mallory = await makeUser('alice'); // same subject/issuer DN and serial as the real alice
    expect(mallory.cert.issuerDn).toBe(alice.cert.issuerDn);
    const forged = parseCmsSignature(
      await signDetached(content, { key: mallory.key, certificatePem: mallory.certPem }),
    );
    expect(forged.embeddedCertificates[0]).toBe(mallory.cert.pem);
    const e = await sigError(verifyDetached(forged, [content], signers));
    expect(e.message).toMatch(/RSA check failed/);
  });

  it('contentType attribute other than id-data is rejected', async () => {
    const der = fromBase64(await signDetached(content, { key: alice.key, certificatePem: alice.certPem }));
    const hex = toHex(der);
    const at = hex.indexOf(OID_HEX.contentType + '310b06092a864886f70d010701');
    expect(at).toBeGreaterThan(0);
    const patched = copyBytes(der);
    const last = (at + OID_HEX.contentType.length + 4 + 20) / 2; // last byte of the id-data value
    expect(patched[last]).toBe(0x01);
    patched[last] = 0x02; // id-data → id-signedData
    await sigError(() => parseCmsSignature(toBase64(patched)));
  });

  it('empty / non-base64 / garbage signatures give typed errors', async () => {
    await sigError(() => parseCmsSignature(''));
    await sigError(() => parseCmsSignature('   '));
    await sigError(() => parseCmsSignature('%%%not base64%%%'), ['format']);
    await sigError(() => parseCmsSignature(toBase64(utf8('hello world'))));
    await sigError(() => parseCmsSignature(toBase64(new Uint8Array(400) as Bytes)));
  });

  it('pathological nesting does not overflow the stack', async () => {
    const deep = new Uint8Array(200_000);
    for (let i = 0; i < deep.length; i += 2) {
      deep[i] = 0x30;
      deep[i + 1] = 0x80;
    }
    await sigError(() => parseCmsSignature(toBase64(deep)));
  });
});

describe('web-client style signatures (PKI.js: attributes not in DER order, sha256WithRSAEncryption)', () => {
  async function pkijsSign(user: User, data: Bytes, order: 'web' | 'sorted' = 'web'): Promise<string> {
    const certAsn = pkijs.Certificate.fromBER(user.cert.der);
    const md = await sha256(data);
    const attrs = {
      ct: new pkijs.Attribute({
        type: '1.2.840.113549.1.9.3',
        values: [new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.7.1' })],
      }),
      md: new pkijs.Attribute({
        type: '1.2.840.113549.1.9.4',
        values: [new asn1js.OctetString({ valueHex: md })],
      }),
      st: new pkijs.Attribute({
        type: '1.2.840.113549.1.9.5',
        values: [new asn1js.UTCTime({ valueDate: new Date() })],
      }),
    };
    const signed = new pkijs.SignedData({
      version: 1,
      encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: '1.2.840.113549.1.7.1' }),
      signerInfos: [
        new pkijs.SignerInfo({
          version: 1,
          sid: new pkijs.IssuerAndSerialNumber({
            issuer: certAsn.issuer,
            serialNumber: certAsn.serialNumber,
          }),
          signedAttrs: new pkijs.SignedAndUnsignedAttributes({
            type: 0,
            attributes: order === 'web' ? [attrs.ct, attrs.md, attrs.st] : [attrs.ct, attrs.st, attrs.md],
          }),
        }),
      ],
      certificates: [certAsn],
    });
    await signed.sign(user.key.sign, 0, 'SHA-256');
    const ci = new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: signed.toSchema(true) });
    return toBase64(new Uint8Array(ci.toSchema().toBER(false)));
  }

  it('verifies over the received attribute bytes (insertion order, never re-sorted)', async () => {
    const sig = parseCmsSignature(await pkijsSign(alice, content));
    const hex = toHex(sig.signedAttrsDer);
    expect(hex.indexOf(OID_HEX.messageDigest)).toBeLessThan(hex.indexOf(OID_HEX.signingTime)); // not DER order
    expect(await verifyDetached(sig, [content], signers)).toEqual({ userId: 'alice', candidateIndex: 0 });
  });

  it('PKI.js verifies our signatures (as the web client would)', async () => {
    const b64 = await signDetached(content, { key: alice.key, certificatePem: alice.certPem });
    const ci = pkijs.ContentInfo.fromBER(fromBase64(b64));
    const signed = new pkijs.SignedData({ schema: ci.content });
    const ok = await signed.verify({
      signer: 0,
      data: content.slice().buffer,
      checkChain: false,
      extendedMode: false,
    });
    expect(ok).toBe(true);
    const bad = await signed
      .verify({ signer: 0, data: utf8('tampered').buffer, checkChain: false, extendedMode: true })
      .then(
        (r) => (typeof r === 'boolean' ? r : r.signatureVerified),
        () => false,
      );
    expect(bad).toBeFalsy();
  });
});

describe.skipIf(!OPENSSL)(`OpenSSL cross-checks (skipped if ${NO_OPENSSL_REASON})`, () => {
  function files(sigB64: string, data: Bytes) {
    const t = tempDir();
    return { t, sig: t.file('sig.der', fromBase64(sigB64)), content: t.file('content', data) };
  }

  it('openssl cms -verify accepts our signature (embedded certificate), and rejects changed content', async () => {
    const b64 = await signDetached(content, { key: alice.key, certificatePem: alice.certPem });
    const f = files(b64, content);
    try {
      const ok = opensslRun([
        'cms',
        '-verify',
        '-binary',
        '-noverify',
        '-inform',
        'DER',
        '-content',
        f.content,
        '-in',
        f.sig,
        '-out',
        '/dev/null',
      ]);
      expect(ok.out).toMatch(/Verification successful/);
      expect(ok.status).toBe(0);
      const other = f.t.file('other', utf8('eyJ4IjoxfQ=='));
      const bad = opensslRun([
        'cms',
        '-verify',
        '-binary',
        '-noverify',
        '-inform',
        'DER',
        '-content',
        other,
        '-in',
        f.sig,
        '-out',
        '/dev/null',
      ]);
      expect(bad.status).not.toBe(0);
      expect(bad.out).not.toMatch(/Verification successful/);
    } finally {
      f.t.cleanup();
    }
  });

  it('openssl finds the signer from -certfile alone (-nointern): IssuerAndSerialNumber matches the certificate', async () => {
    const b64 = await signDetached(content, { key: alice.key, certificatePem: alice.certPem });
    const f = files(b64, content);
    try {
      const certfile = f.t.file('alice.pem', alice.certPem);
      const ok = opensslRun([
        'cms',
        '-verify',
        '-binary',
        '-noverify',
        '-nointern',
        '-certfile',
        certfile,
        '-inform',
        'DER',
        '-content',
        f.content,
        '-in',
        f.sig,
        '-out',
        '/dev/null',
      ]);
      expect(ok.out).toMatch(/Verification successful/);
      const bobfile = f.t.file('bob.pem', bob.certPem);
      const bad = opensslRun([
        'cms',
        '-verify',
        '-binary',
        '-noverify',
        '-nointern',
        '-certfile',
        bobfile,
        '-inform',
        'DER',
        '-content',
        f.content,
        '-in',
        f.sig,
        '-out',
        '/dev/null',
      ]);
      expect(bad.status).not.toBe(0);
    } finally {
      f.t.cleanup();
    }
  });

  it('our output is DER: OpenSSL re-encoding reproduces it byte for byte', async () => {
    const b64 = await signDetached(content, { key: bob.key, certificatePem: bob.certPem });
    const f = files(b64, content);
    try {
      const out = f.t.file('re.der');
      const r = opensslRun([
        'cms',
        '-cmsout',
        '-inform',
        'DER',
        '-in',
        f.sig,
        '-outform',
        'DER',
        '-out',
        out,
      ]);
      expect(r.status).toBe(0);
      expect(equalBytes(copyBytes(read(out)), fromBase64(b64))).toBe(true);
    } finally {
      f.t.cleanup();
    }
  });

  function opensslSign(user: User, data: Bytes, extra: string[]): string {
    const t = tempDir();
    try {
      const out = t.file('sig.der');
      const r = opensslRun([
        'cms',
        '-sign',
        '-binary',
        '-outform',
        'DER',
        '-signer',
        t.file('cert.pem', user.certPem),
        '-inkey',
        t.file('key.pem', user.keyPem),
        '-in',
        t.file('content', data),
        '-out',
        out,
        ...extra,
      ]);
      if (r.status !== 0) throw new Error(r.out);
      return toBase64(read(out));
    } finally {
      t.cleanup();
    }
  }

  it('verifies a detached OpenSSL signature (SHA-256, S/MIME capabilities attribute) with our verifier', async () => {
    const b64 = opensslSign(bob, content, ['-md', 'sha256']);
    const sig = parseCmsSignature(b64);
    expect(toHex(sig.signedAttrsDer)).toContain(OID_HEX.smimeCaps);
    expect(sig.signatureHash).toBe('SHA-256');
    expect(sig.signerIssuerDn).toBe(bob.cert.issuerDn);
    expect(sig.embeddedCertificates).toEqual([bob.cert.pem]);
    expect(await verifyDetached(sig, [content], signers)).toEqual({ userId: 'bob', candidateIndex: 0 });
    await sigError(verifyDetached(sig, [utf8('x')], signers));
    await sigError(verifyDetached(sig, [content], [{ userId: 'alice', certificate: alice.cert }]));
  });

  it('verifies an OpenSSL SHA-1 signature', async () => {
    const sig = parseCmsSignature(opensslSign(alice, content, ['-md', 'sha1']));
    expect(sig.signatureHash).toBe('SHA-1');
    expect(await verifyDetached(sig, [content], signers)).toEqual({ userId: 'alice', candidateIndex: 0 });
  });

  it('verifies a streamed (BER, indefinite-length) OpenSSL signature', async () => {
    const b64 = opensslSign(alice, content, ['-md', 'sha256', '-stream']);
    expect(toHex(fromBase64(b64)).startsWith('3080')).toBe(true);
    const sig = parseCmsSignature(b64);
    expect(await verifyDetached(sig, [content], signers)).toEqual({ userId: 'alice', candidateIndex: 0 });
  });

  it('rejects a subject-key-identifier signer id (-keyid) with a clear signature error', async () => {
    const e = await sigError(() =>
      parseCmsSignature(opensslSign(alice, content, ['-md', 'sha256', '-keyid'])),
    );
    expect(e.message).toMatch(/subject key identifier/);
  });

  it('fuzz: mutated OpenSSL and own signatures only give typed errors', async () => {
    const bases = [
      fromBase64(opensslSign(bob, content, ['-md', 'sha256'])),
      fromBase64(opensslSign(alice, content, ['-md', 'sha256', '-stream'])),
      fromBase64(await signDetached(content, { key: alice.key, certificatePem: alice.certPem })),
    ];
    await fuzzMutations(bases, 1500);
  });
});

async function fuzzMutations(bases: Bytes[], numRuns: number): Promise<void> {
  let parsedCount = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.nat(bases.length - 1),
      fc.array(fc.record({ pos: fc.nat(100_000), val: fc.integer({ min: 0, max: 255 }) }), {
        minLength: 1,
        maxLength: 3,
      }),
      fc.option(fc.nat(100_000), { freq: 4 }),
      async (which, flips, cut) => {
        const base = bases[which]!;
        const m = copyBytes(base.subarray(0, cut === null ? base.length : Math.max(1, cut % base.length)));
        for (const f of flips) m[f.pos % m.length] = f.val;
        let sig: CmsSignature;
        try {
          sig = parseCmsSignature(toBase64(m));
        } catch (e) {
          return isCipherfoldError(e, 'signature') || isCipherfoldError(e, 'format');
        }
        parsedCount++;
        try {
          await verifyDetached(sig, [content], signers);
          return true; // a flip in an unsigned part (e.g. the embedded certificate) may still verify
        } catch (e) {
          return isCipherfoldError(e, 'signature');
        }
      },
    ),
    { numRuns },
  );
  expect(parsedCount).toBeGreaterThan(0);
}

describe('fuzzing parseCmsSignature', () => {
  it('random bytes only give typed errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        try {
          parseCmsSignature(toBase64(b));
          return false;
        } catch (e) {
          return isCipherfoldError(e, 'signature') || isCipherfoldError(e, 'format');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('random ASN.1-shaped input (including indefinite lengths) only gives typed errors', () => {
    const node = fc.letrec((tie) => ({
      n: fc.oneof(
        { depthSize: 'small' },
        fc
          .tuple(fc.constantFrom(0x02, 0x04, 0x05, 0x06, 0x13, 0x17, 0x80), fc.uint8Array({ maxLength: 12 }))
          .map(([t, c]) => [t, c.length, ...c]),
        fc.constant([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]),
        fc.constant([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04]),
        fc
          .tuple(
            fc.constantFrom(0x30, 0x31, 0xa0, 0xa1, 0x24),
            fc.array(tie('n'), { maxLength: 6 }),
            fc.boolean(),
          )
          .map(([t, kids, indefinite]) => {
            const c = (kids as number[][]).flat();
            if (indefinite) return [t, 0x80, ...c, 0, 0];
            return c.length < 128 ? [t, c.length, ...c] : [t, 0x82, c.length >> 8, c.length & 255, ...c];
          }),
      ),
    }));
    fc.assert(
      fc.property(node.n, (arr) => {
        try {
          parseCmsSignature(toBase64(Uint8Array.from(arr as number[])));
          return false;
        } catch (e) {
          return isCipherfoldError(e, 'signature') || isCipherfoldError(e, 'format');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated own signatures only give typed errors', async () => {
    const bases = [
      fromBase64(await signDetached(content, { key: alice.key, certificatePem: alice.certPem })),
      fromBase64(await signDetached(content, { key: bob.key, certificatePem: bob.certPem })),
    ];
    await fuzzMutations(bases, 3000);
  });
});
