import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCipherfoldError } from '../../../lib/errors';
import { copyBytes, equalBytes, randomBytes, utf8, type Bytes } from '../../../lib/crypto/bytes';
import {
  generateRsaKeyPair,
  importRsaPrivateKey,
  publicSpkiOf,
  rsaOaepDecrypt,
  rsaOaepEncrypt,
  rsaPkcs1Sign,
  rsaPkcs1Verify,
  sniffPrivateKeyDer,
  toPkcs8,
  type RsaPrivateKey,
} from '../../../lib/crypto/rsa';
import { NO_OPENSSL_REASON, OPENSSL, openssl } from '../protocol/certificate.helpers';

const b = (x: Buffer | Uint8Array): Bytes => copyBytes(x);

async function expectKind(p: Promise<unknown>, kind: string): Promise<void> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(isCipherfoldError(e), String(e)).toBe(true);
  expect((e as { kind: string }).kind).toBe(kind);
}

describe('rsa', () => {
  let ours: { privateKey: RsaPrivateKey; publicSpki: Bytes };
  const node = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
  const nodePkcs8 = b(node.privateKey.export({ type: 'pkcs8', format: 'der' }));
  const nodeSpki = b(node.publicKey.export({ type: 'spki', format: 'der' }));

  beforeAll(async () => {
    ours = await generateRsaKeyPair();
  });

  it('generates RSA-2048 with e = 65537, in a form Node reads', () => {
    const pub = createPublicKey({ key: Buffer.from(ours.publicSpki), format: 'der', type: 'spki' });
    expect(pub.asymmetricKeyDetails).toMatchObject({ modulusLength: 2048, publicExponent: 65537n });
    const priv = createPrivateKey({ key: Buffer.from(ours.privateKey.pkcs8), format: 'der', type: 'pkcs8' });
    expect(
      equalBytes(b(createPublicKey(priv).export({ type: 'spki', format: 'der' })), ours.publicSpki),
    ).toBe(true);
  });

  it('keys are not extractable and bound to one algorithm each', () => {
    expect(ours.privateKey.oaep.extractable).toBe(false);
    expect(ours.privateKey.sign.extractable).toBe(false);
    expect(ours.privateKey.oaep.algorithm.name).toBe('RSA-OAEP');
    expect(ours.privateKey.sign.algorithm.name).toBe('RSASSA-PKCS1-v1_5');
    expect(ours.privateKey.oaep.usages).toEqual(['decrypt']);
    expect(ours.privateKey.sign.usages).toEqual(['sign']);
  });

  it('publicSpkiOf returns the SPKI of the key pair', async () => {
    expect(equalBytes(await publicSpkiOf(ours.privateKey), ours.publicSpki)).toBe(true);
    const imported = await importRsaPrivateKey(nodePkcs8);
    expect(equalBytes(await publicSpkiOf(imported), nodeSpki)).toBe(true);
  });

  it('OAEP-SHA256: Node encrypts, we decrypt', async () => {
    const key = await importRsaPrivateKey(nodePkcs8);
    for (const len of [0, 1, 16, 32, 190]) {
      const msg = randomBytes(len);
      const ct = publicEncrypt(
        { key: node.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        msg,
      );
      expect(equalBytes(await rsaOaepDecrypt(key, b(ct)), msg)).toBe(true);
    }
  });

  it('OAEP-SHA256: we encrypt, Node decrypts (and rejects SHA-1 OAEP)', async () => {
    const msg = randomBytes(16);
    const ct = await rsaOaepEncrypt(nodeSpki, msg);
    expect(ct.length).toBe(256);
    const pt = privateDecrypt(
      { key: node.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      ct,
    );
    expect(equalBytes(b(pt), msg)).toBe(true);
    expect(() =>
      privateDecrypt(
        { key: node.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
        ct,
      ),
    ).toThrow();
  });

  it('OAEP decryption failure is a typed metadata error that names the folder key', async () => {
    const ct = await rsaOaepEncrypt(ours.publicSpki, randomBytes(16));
    const other = await importRsaPrivateKey(nodePkcs8);
    const e = await rsaOaepDecrypt(other, ct).catch((x: unknown) => x);
    expect(isCipherfoldError(e, 'metadata')).toBe(true);
    expect((e as Error).message).toMatch(/can't open the folder key/);
    ct[10]! ^= 1;
    await expectKind(rsaOaepDecrypt(ours.privateKey, ct), 'metadata');
    await expectKind(rsaOaepDecrypt(ours.privateKey, ct.subarray(0, 100) as Bytes), 'metadata');
  });

  it('PKCS#1 v1.5 SHA-256: our signatures verify in Node, and are deterministic', async () => {
    const data = utf8('signed attributes');
    const key = await importRsaPrivateKey(nodePkcs8);
    const sig = await rsaPkcs1Sign(key, data);
    expect(nodeVerify('sha256', data, node.publicKey, sig)).toBe(true);
    expect(equalBytes(sig, b(nodeSign('sha256', data, node.privateKey)))).toBe(true);
    expect(nodeVerify('sha256', utf8('signed attributez'), node.publicKey, sig)).toBe(false);
  });

  it.each(['SHA-1', 'SHA-256'] as const)('PKCS#1 v1.5 %s: Node signatures verify with ours', async (hash) => {
    const data = randomBytes(300);
    const sig = b(nodeSign(hash === 'SHA-1' ? 'sha1' : 'sha256', data, node.privateKey));
    expect(await rsaPkcs1Verify(hash, nodeSpki, sig, data)).toBe(true);
    // wrong hash, wrong data, flipped bit, wrong length, wrong key: all false, never a throw
    expect(await rsaPkcs1Verify(hash === 'SHA-1' ? 'SHA-256' : 'SHA-1', nodeSpki, sig, data)).toBe(false);
    expect(await rsaPkcs1Verify(hash, nodeSpki, sig, randomBytes(300))).toBe(false);
    const flipped = copyBytes(sig);
    flipped[255]! ^= 0x80;
    expect(await rsaPkcs1Verify(hash, nodeSpki, flipped, data)).toBe(false);
    expect(await rsaPkcs1Verify(hash, nodeSpki, sig.subarray(1) as Bytes, data)).toBe(false);
    expect(await rsaPkcs1Verify(hash, ours.publicSpki, sig, data)).toBe(false);
  });

  it('imports PKCS#1 (RSA PRIVATE KEY) by wrapping it into PKCS#8 byte-identical to Node’s', async () => {
    const pkcs1 = b(node.privateKey.export({ type: 'pkcs1', format: 'der' }));
    expect(sniffPrivateKeyDer(pkcs1)).toBe('pkcs1');
    expect(sniffPrivateKeyDer(nodePkcs8)).toBe('pkcs8');
    expect(equalBytes(toPkcs8(pkcs1), nodePkcs8)).toBe(true);
    const key = await importRsaPrivateKey(pkcs1);
    expect(equalBytes(key.pkcs8, nodePkcs8)).toBe(true);
    const msg = randomBytes(32);
    const ct = publicEncrypt(
      { key: node.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      msg,
    );
    expect(equalBytes(await rsaOaepDecrypt(key, b(ct)), msg)).toBe(true);
  });

  it.skipIf(!OPENSSL)(
    `imports a key from "openssl genrsa -traditional" (skipped if ${NO_OPENSSL_REASON})`,
    async () => {
      const pem = openssl(['genrsa', '-traditional', '2048'], undefined).toString();
      expect(pem).toMatch(/BEGIN RSA PRIVATE KEY/);
      const der = b(createPrivateKey(pem).export({ type: 'pkcs1', format: 'der' }));
      const { pemDecode } = await import('../../../lib/crypto/pem');
      const decoded = pemDecode(pem, ['RSA PRIVATE KEY']);
      expect(equalBytes(decoded.der, der)).toBe(true);
      const key = await importRsaPrivateKey(decoded.der);
      const data = utf8('x');
      expect(nodeVerify('sha256', data, createPublicKey(pem), await rsaPkcs1Sign(key, data))).toBe(true);
    },
  );

  it('rejects what is not an RSA private key with format errors', async () => {
    await expectKind(importRsaPrivateKey(randomBytes(64)), 'format');
    await expectKind(importRsaPrivateKey(new Uint8Array(0) as Bytes), 'format');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await expectKind(
      importRsaPrivateKey(b(ec.privateKey.export({ type: 'pkcs8', format: 'der' }))),
      'format',
    );
    const truncated = nodePkcs8.subarray(0, nodePkcs8.length - 1) as Bytes;
    await expectKind(importRsaPrivateKey(truncated), 'format');
  });

  it('rejects a malformed public key with a format error', async () => {
    await expectKind(rsaOaepEncrypt(randomBytes(40), randomBytes(16)), 'format');
    await expectKind(rsaPkcs1Verify('SHA-256', randomBytes(40), randomBytes(256), randomBytes(16)), 'format');
  });

  it('refuses to encrypt more than OAEP-SHA256 can carry', async () => {
    await expectKind(rsaOaepEncrypt(nodeSpki, randomBytes(191)), 'format');
  });
});
