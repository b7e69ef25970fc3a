/**
 * Test world for metadata tests: a server CA key, users with server-issued certificates (issuer = subject,
 * serial 0, as §3.3), and independent encoders built on Node's crypto/zlib (not on the code under test).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import {
  createCipheriv,
  generateKeyPairSync,
  publicEncrypt,
  constants,
  randomBytes,
  webcrypto,
} from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { importRsaPrivateKey, type RsaPrivateKey } from '../../../../lib/crypto/rsa';
import { signDetached } from '../../../../lib/protocol/cms';
import type { UserId } from '../../../../lib/protocol/metadata';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const subtle = webcrypto.subtle as unknown as SubtleCrypto;

export interface TestUser {
  userId: UserId;
  key: RsaPrivateKey;
  /** Node KeyObject-compatible PEMs for independent operations. */
  publicPem: string;
  privatePem: string;
  certificatePem: string;
}

export interface World {
  serverPem: string;
  otherServerPem: string;
  alice: TestUser;
  bob: TestUser;
  carol: TestUser;
  share: TestUser;
  /** Certificate for "alice" issued by a different server key (a rogue CA). */
  rogueAliceCertPem: string;
  /** A second certificate for "alice" from the right server but for another key (TOFU change). */
  aliceReissuedCertPem: string;
  issue(
    cn: string,
    publicPem: string,
    opts?: { notAfter?: Date; server?: 'main' | 'other' },
  ): Promise<string>;
}

function nodeKeyPair(): { publicPem: string; privatePem: string; pkcs8: Uint8Array } {
  const kp = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
  const pkcs8 = kp.privateKey.export({ type: 'pkcs8', format: 'der' });
  return {
    publicPem: kp.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: kp.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    pkcs8: new Uint8Array(pkcs8),
  };
}

async function importSigner(pkcs8: Uint8Array): Promise<CryptoKey> {
  return subtle.importKey(
    'pkcs8',
    new Uint8Array(pkcs8),
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    false,
    ['sign'],
  );
}

async function importPublic(publicPem: string): Promise<CryptoKey> {
  const der = Buffer.from(publicPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return subtle.importKey('spki', new Uint8Array(der), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, [
    'verify',
  ]);
}

export async function makeWorld(): Promise<World> {
  const server = nodeKeyPair();
  const other = nodeKeyPair();
  const serverSigner = await importSigner(server.pkcs8);
  const otherSigner = await importSigner(other.pkcs8);
  const issue = async (
    cn: string,
    publicPem: string,
    opts: { notAfter?: Date; server?: 'main' | 'other' } = {},
  ): Promise<string> => {
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: '00',
      subject: `CN=${cn}`,
      issuer: `CN=${cn}`,
      notBefore: new Date(Date.now() - 3600_000),
      notAfter: opts.notAfter ?? new Date(Date.now() + 7300 * 86400_000),
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      publicKey: await importPublic(publicPem),
      signingKey: opts.server === 'other' ? otherSigner : serverSigner,
    });
    return cert.toString('pem').replace(/\r\n/g, '\n') + '\n';
  };
  const user = async (id: string): Promise<TestUser> => {
    const kp = nodeKeyPair();
    return {
      userId: id as UserId,
      key: await importRsaPrivateKey(kp.pkcs8 as Uint8Array<ArrayBuffer>),
      publicPem: kp.publicPem,
      privatePem: kp.privatePem,
      certificatePem: await issue(id, kp.publicPem),
    };
  };
  const alice = await user('alice');
  const bob = await user('bob');
  const carol = await user('carol');
  const share = await user('s:AbCdEf123');
  const alt = nodeKeyPair();
  return {
    serverPem: server.publicPem,
    otherServerPem: other.publicPem,
    alice,
    bob,
    carol,
    share,
    rogueAliceCertPem: await issue('alice', alice.publicPem, { server: 'other' }),
    aliceReissuedCertPem: await issue('alice', alt.publicPem),
    issue,
  };
}

// ---- independent encoders (Node crypto) ----

export const b64 = (b: Uint8Array | Buffer): string => Buffer.from(b).toString('base64');

/** gzip + AES-128-GCM the JSON text; returns the metadata member pieces. */
export function nodeEncryptJson(
  jsonText: string,
  key: Uint8Array,
  nonceLength = 12,
): { ct: Buffer; nonce: Buffer; tag: Buffer } {
  const nonce = randomBytes(nonceLength);
  const c = createCipheriv('aes-128-gcm', key, nonce);
  const body = Buffer.concat([c.update(gzipSync(Buffer.from(jsonText, 'utf8'))), c.final()]);
  const tag = c.getAuthTag();
  return { ct: Buffer.concat([body, tag]), nonce, tag };
}

export function nodeOaep(publicPem: string, data: Uint8Array): string {
  return b64(
    publicEncrypt({ key: publicPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, data),
  );
}

export function nodePkcs1(publicPem: string, data: Uint8Array): string {
  return b64(publicEncrypt({ key: publicPem, padding: constants.RSA_PKCS1_PADDING }, data));
}

/** Signs the ASCII of base64(UTF-8(jsonText)) — a chosen serialisation — as `user`. */
export async function signText(jsonText: string, user: TestUser): Promise<string> {
  const content = new Uint8Array(Buffer.from(Buffer.from(jsonText, 'utf8').toString('base64'), 'ascii'));
  return signDetached(content as Uint8Array<ArrayBuffer>, {
    key: user.key,
    certificatePem: user.certificatePem,
  });
}

/** Recursively sorted compact JSON (independent of lib/protocol/canonical-json). */
export function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function hexKey(): Buffer {
  return randomBytes(16);
}
