/** Legacy 1.0 / 1.1 / 1.2 read vectors built independently with Node's crypto (§7). */
import { beforeAll, describe, expect, it } from 'vitest';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import {
  parseMetadata,
  splitV1Encrypted,
  verifyMetadata,
  verifyV1Metadata,
  type Uuid32,
} from '../../../../lib/protocol/metadata';
import { b64, makeWorld, nodeOaep, type World } from './fixtures';
import { hexId } from './docs';

let w: World;
beforeAll(async () => {
  w = await makeWorld();
});

/** RSA layer of 1.x: OAEP over the ASCII of base64(base64(key)). */
const wrapV1 = (publicPem: string, key: Buffer) =>
  nodeOaep(publicPem, Buffer.from(Buffer.from(key.toString('base64'), 'ascii').toString('base64'), 'ascii'));

function encryptV1(info: Record<string, unknown>, key: Buffer, sep = '|'): string {
  const iv = randomBytes(16);
  const c = createCipheriv('aes-128-gcm', key, iv);
  const plain = Buffer.from(Buffer.from(JSON.stringify(info), 'utf8').toString('base64'), 'ascii');
  const ct = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  return `${b64(ct)}${sep}${b64(iv)}`;
}

const fileInfo = (name: string, mimetype = 'text/plain') => ({
  key: b64(randomBytes(16)),
  filename: name,
  mimetype,
  version: 1,
});

const self = () => ({ userId: 'alice', key: w.alice.key });

describe('metadata 1.0 / 1.1', () => {
  it('1.0: metadataKeys map with per-file index, highest index when absent, folders as httpd/unix-directory', async () => {
    const k0 = randomBytes(16);
    const k1 = randomBytes(16);
    const [a, b, d] = [hexId(), hexId(), hexId()];
    const fileIv = randomBytes(16);
    const doc = {
      metadata: {
        metadataKeys: { '0': wrapV1(w.alice.publicPem, k0), '1': wrapV1(w.alice.publicPem, k1) },
        sharing: 'xyz',
        version: 1,
      },
      files: {
        [a]: {
          encrypted: encryptV1(fileInfo('a.txt'), k0),
          initializationVector: b64(fileIv),
          authenticationTag: b64(randomBytes(16)),
          metadataKey: 0,
        },
        [b]: {
          encrypted: encryptV1(fileInfo('b.txt'), k1),
          initializationVector: b64(randomBytes(16)),
          authenticationTag: b64(randomBytes(16)),
        },
        [d]: { encrypted: encryptV1(fileInfo('Folder', 'httpd/unix-directory'), k1), metadataKey: 1 },
      },
    };
    const text = JSON.stringify(doc);
    expect(parseMetadata(text).kind).toBe('v1');
    const v = await verifyMetadata({
      document: text,
      signature: undefined,
      self: self(),
      serverPublicKeyPem: w.serverPem,
    });
    if (v.kind !== 'v1') throw new Error('kind');
    expect(v.version).toBe('1.0');
    expect(v.files.get(a as Uuid32)?.filename).toBe('a.txt');
    expect(Buffer.from(v.files.get(a as Uuid32)!.nonce)).toEqual(fileIv);
    expect(v.files.get(b as Uuid32)?.filename).toBe('b.txt');
    expect(v.folders.get(d as Uuid32)).toBe('Folder');
    expect(v.state.seenV2).toBe(false);
  });

  it('1.1 (single metadataKey), string version, oldest `fA==` separators', async () => {
    const k = randomBytes(16);
    const id = hexId();
    const text = JSON.stringify({
      metadata: { metadataKey: wrapV1(w.alice.publicPem, k), version: '1.1' },
      files: {
        [id]: {
          encrypted: encryptV1(fileInfo('old.doc'), k, 'fA=='),
          initializationVector: b64(randomBytes(16)),
        },
      },
    });
    const v = await verifyV1Metadata({ document: text, self: self() });
    expect(v.version).toBe('1.0');
    expect(v.files.get(id as Uuid32)?.filename).toBe('old.doc');
  });

  it('splits on the last separator and ignores a trailing fA== that is part of the IV', () => {
    expect(splitV1Encrypted('AAfA==BBfA==CC')).toEqual({ ct: 'AAfA==BB', iv: 'CC' });
    expect(splitV1Encrypted('AA|BB|CC')).toEqual({ ct: 'AA|BB', iv: 'CC' });
    expect(splitV1Encrypted('AAAAfA==XXXXfA==')).toEqual({ ct: 'AAAA', iv: 'XXXXfA==' });
    expect(() => splitV1Encrypted('nosep')).toThrow(expect.objectContaining({ kind: 'metadata' }));
  });
});

describe('metadata 1.2 checksum (§7.2)', () => {
  const mnemonic = 'abandon ability able about above absent absorb abstract absurd abuse access accident';
  async function v12(checksumFor?: string) {
    const k = randomBytes(16);
    const ids = [hexId(), hexId()];
    const metadataKey = wrapV1(w.alice.publicPem, k);
    const checksum =
      checksumFor === undefined
        ? undefined
        : createHash('sha256')
            .update(checksumFor.replace(/ /g, '') + [...ids].sort().join('') + metadataKey, 'utf8')
            .digest('hex');
    const text = JSON.stringify({
      metadata: { metadataKey, checksum, version: 1.2 },
      files: Object.fromEntries(
        ids.map((id, i) => [
          id,
          { encrypted: encryptV1(fileInfo(`f${i}`), k), initializationVector: b64(randomBytes(16)) },
        ]),
      ),
    });
    return text;
  }
  it('verifies with the mnemonic; wrong mnemonic is a key-checksum error; unverifiable → warning', async () => {
    const text = await v12(mnemonic);
    const ok = await verifyV1Metadata({ document: text, self: self(), mnemonic: mnemonic.toUpperCase() });
    expect(ok.version).toBe('1.2');
    expect(ok.checksumVerified).toBe(true);
    expect(ok.files.size).toBe(2);
    await expect(
      verifyV1Metadata({ document: text, self: self(), mnemonic: 'wrong words' }),
    ).rejects.toMatchObject({
      kind: 'key-checksum',
    });
    const noMnemonic = await verifyV1Metadata({ document: text, self: self() });
    expect(noMnemonic.warnings.map((x) => x.code)).toEqual(['v1-checksum-unverified']);
    const missing = await verifyV1Metadata({ document: await v12(), self: self(), mnemonic });
    expect(missing.warnings.map((x) => x.code)).toEqual(['v1-checksum-missing']);
  });
  it('unknown 1.x version and a key for someone else', async () => {
    expect(() => parseMetadata('{"metadata":{"metadataKey":"AA","version":"1.5"}}')).toThrow(
      expect.objectContaining({ kind: 'metadata' }),
    );
    const text = await v12(mnemonic);
    await expect(
      verifyV1Metadata({ document: text, self: { userId: 'bob', key: w.bob.key } }),
    ).rejects.toMatchObject({
      kind: 'metadata',
    });
  });
});
