/** Reading quirks of §6 and gotchas of §11 that concern metadata, each against independently built documents. */
import { beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, createHash } from 'node:crypto';
import {
  parseMetadata,
  serialiseRoot,
  verifyRootMetadata,
  verifySubMetadata,
  withCounter,
  type VerifiedRoot,
  type FolderState,
  type Uuid32,
} from '../../../../lib/protocol/metadata';
import { isCipherfoldError } from '../../../../lib/errors';
import { makeWorld, nodePkcs1, b64, type TestUser, type World } from './fixtures';
import { buildDoc, checksumOf, fileJson, hexId, innerDoc, type BuiltDoc } from './docs';

let w: World;
beforeAll(async () => {
  w = await makeWorld();
});

async function open(
  d: BuiltDoc,
  u: TestUser = w.alice,
  extra: { known?: FolderState; strict?: boolean } = {},
) {
  return verifyRootMetadata({
    document: d.text,
    signature: d.signature,
    self: { userId: u.userId, key: u.key },
    serverPublicKeyPem: w.serverPem,
    ...extra,
  });
}

async function rootWith(over: Record<string, unknown> = {}): Promise<{ root: VerifiedRoot; key: Buffer }> {
  const key = randomBytes(16);
  const d = await buildDoc({ users: [w.alice, w.bob], inner: innerDoc(over, key), key, signAs: w.alice });
  return { root: await open(d), key };
}

const codes = (v: { warnings: readonly { code: string }[] }) => v.warnings.map((x) => x.code);

describe('§6.1 / §6.3 outer-document tolerance', () => {
  it('desktop: 16-byte nonce, `|nonce` suffix, indented JSON (G-9, G-11)', async () => {
    const key = randomBytes(16);
    const id = hexId();
    const d = await buildDoc({
      users: [w.alice],
      inner: innerDoc({ files: { [id]: fileJson('r.pdf') } }, key),
      key,
      nonceLength: 16,
      suffix: true,
      indent: 4,
      signAs: w.alice,
    });
    expect(d.text).toContain('\n    ');
    expect(JSON.parse(d.text).metadata.ciphertext).toContain('|');
    const v = await open(d);
    expect(v.inner.files.get(id as Uuid32)?.filename).toBe('r.pdf');
    expect(v.warnings).toEqual([]);
  });

  it('nonce only in the `|` suffix (no nonce member)', async () => {
    const key = randomBytes(16);
    const d = await buildDoc({
      users: [w.alice],
      inner: innerDoc({}, key),
      key,
      suffix: true,
      noNonceMember: true,
      signAs: w.alice,
    });
    expect((await open(d)).inner.counter).toBe(3);
  });

  it('reordered keys (reverse order everywhere), compact or indented', async () => {
    for (const indent of [undefined, 2]) {
      const key = randomBytes(16);
      const d = await buildDoc({
        users: [w.alice, w.bob],
        inner: innerDoc({}, key),
        key,
        order: 'reverse',
        indent,
        signAs: w.bob,
      });
      expect(d.text.indexOf('"version"')).toBeLessThan(d.text.indexOf('"metadata"'));
      expect((await open(d)).signer).toBe('bob');
    }
  });

  it('PHP `\\/` escaping after a filedrop merge does not break the signature (G-14)', async () => {
    const key = randomBytes(16);
    const d = await buildDoc({
      users: [w.alice],
      inner: innerDoc({}, key),
      key,
      phpSlashes: true,
      signAs: w.alice,
    });
    expect(d.text).toContain('\\/');
    expect((await open(d)).signer).toBe('alice');
  });

  it.each([
    ['"2"', '2.0'],
    ['2', '2.0'],
    ['"2.0"', '2.0'],
    ['2.0', '2.0'],
    ['"2.1"', '2.1'],
    ['2.1', '2.1'],
  ])('version %s is read as %s', async (literal, expected) => {
    const key = randomBytes(16);
    const d = await buildDoc({
      users: [w.alice],
      inner: innerDoc({}, key),
      key,
      versionLiteral: literal,
      signAs: w.alice,
    });
    expect(parseMetadata(d.text).kind).toBe('v2-root');
    expect((await open(d)).version).toBe(expected);
  });

  it.each(['"3.0"', '"2.2"', '3', 'null', '"abc"', '[]'])(
    'unknown version %s is a metadata error',
    async (literal) => {
      const key = randomBytes(16);
      const d = await buildDoc({
        users: [w.alice],
        inner: innerDoc({}, key),
        key,
        versionLiteral: literal,
        signAs: w.alice,
      });
      expect(() => parseMetadata(d.text)).toThrow(expect.objectContaining({ kind: 'metadata' }));
    },
  );

  it('users [] is a sub-folder (G-15); verifies against the root members either way it was signed', async () => {
    const { root, key } = await rootWith();
    const d = await buildDoc({ usersEmpty: true, inner: innerDoc({ counter: 0 }), key, signAs: w.bob });
    expect(parseMetadata(d.text).kind).toBe('v2-sub');
    const v = await verifySubMetadata({ document: d.text, signature: d.signature, root });
    expect(v.signer).toBe('bob');
    expect(v.inner.keyChecksums).toBeUndefined();
    // signed without the empty users member
    const parsed = JSON.parse(d.text) as Record<string, unknown>;
    delete parsed['users'];
    const { signText, sortedJson } = await import('./fixtures');
    const sig2 = await signText(sortedJson(parsed), w.bob);
    expect((await verifySubMetadata({ document: d.text, signature: sig2, root })).signer).toBe('bob');
  });

  it.each(['[]', '{}', 'null'])('filedrop %s is empty', async (literal) => {
    const key = randomBytes(16);
    const d = await buildDoc({
      users: [w.alice],
      inner: innerDoc({}, key),
      key,
      filedropLiteral: literal,
      signAs: w.alice,
    });
    const v = await open(d);
    expect(v.filedrop.size).toBe(0);
    expect(v.warnings).toEqual([]);
  });

  it('filedrop is excluded from the signature: entries merged by the server keep it valid', async () => {
    const key = randomBytes(16);
    const entry = JSON.stringify({ [hexId()]: { ciphertext: 'AAAA', nonce: 'AAAA', users: [] } });
    const d = await buildDoc({
      users: [w.alice],
      inner: innerDoc({}, key),
      key,
      filedropLiteral: entry,
      signAs: w.alice,
    });
    expect((await open(d)).filedrop.size).toBe(1);
  });
});

describe('§6.4 inner-document tolerance', () => {
  it('legacy initializationVector (preferred over nonce), missing mimetype, unknown members, no deleted', async () => {
    const a = hexId();
    const b = hexId();
    const iv = randomBytes(16);
    const { root } = await rootWith({
      deleted: undefined,
      files: {
        [a]: {
          ...fileJson('a'),
          nonce: b64(randomBytes(12)),
          initializationVector: b64(iv),
          filesize: 12,
          chunked: false,
        },
        [b]: { filename: 'b', key: b64(randomBytes(16)), nonce: b64(randomBytes(12)) },
      },
    });
    expect(Buffer.from(root.inner.files.get(a as Uuid32)!.nonce)).toEqual(iv);
    expect(root.inner.files.get(b as Uuid32)!.mimetype).toBe('application/octet-stream');
    expect(root.inner.files.get(b as Uuid32)!.authenticationTag).toBeUndefined();
    expect(root.inner.deleted).toBe(false);
  });

  it('folders stored as files entries (httpd/unix-directory, inode/directory, empty) become folders and are written into folders', async () => {
    const ids = [hexId(), hexId(), hexId()];
    const { root } = await rootWith({
      files: {
        [ids[0]!]: { filename: 'd1', mimetype: 'httpd/unix-directory' },
        [ids[1]!]: { filename: 'd2', mimetype: 'inode/directory', key: b64(randomBytes(16)) },
        [ids[2]!]: { filename: 'd3', mimetype: '' },
      },
    });
    expect([...root.inner.folders.values()].sort()).toEqual(['d1', 'd2', 'd3']);
    expect(root.inner.files.size).toBe(0);
    expect(codes(root)).toContain('legacy-folder-entry');
    const out = await serialiseRoot(withCounter(root, 4), {
      key: w.alice.key,
      certificatePem: w.alice.certificatePem,
    });
    const again = await open(out as BuiltDoc);
    expect(again.inner.folders.size).toBe(3);
    expect(codes(again)).not.toContain('legacy-folder-entry');
  });

  it('uppercase uuid ids (iOS) are accepted and kept as they are', async () => {
    const id = hexId().toUpperCase();
    const { root } = await rootWith({ files: { [id]: fileJson('up') } });
    expect(root.inner.files.has(id as Uuid32)).toBe(true);
  });

  it('malformed single entries are skipped with a warning, not fatal', async () => {
    const { root } = await rootWith({
      files: {
        'not-an-id': fileJson('x'),
        [hexId()]: { filename: 'k', key: 'AAAA', nonce: 'AAAA' },
        [hexId()]: 5,
      },
      folders: { [hexId()]: 7, [hexId()]: 'ok' },
    });
    expect(root.inner.files.size).toBe(0);
    expect(root.inner.folders.size).toBe(1);
    expect(codes(root).filter((c) => c === 'invalid-entry')).toHaveLength(4);
  });
});

describe('§6.5 key checksums', () => {
  it("Android's stripped leading zeros (G-6) and upper case still match, with a warning", async () => {
    let key: Buffer;
    do key = randomBytes(16);
    while (!checksumOf(key).startsWith('0'));
    const android = BigInt('0x' + checksumOf(key))
      .toString(16)
      .padStart(32, '0');
    expect(android.length).toBeLessThan(64);
    const d = await buildDoc({
      users: [w.alice],
      inner: innerDoc({ keyChecksums: [android.toUpperCase()] }),
      key,
      signAs: w.alice,
    });
    const v = await open(d);
    expect(codes(v)).toContain('short-checksum');
    expect(v.state.checksumHistory).toEqual([checksumOf(key)]);
  });

  it('iOS duplicate checksums → warning; history shrink → warning, or key-checksum error when strict (G-7)', async () => {
    const key = randomBytes(16);
    const old = createHash('sha256').update(randomBytes(16)).digest('hex');
    const d = await buildDoc({
      users: [w.alice],
      inner: innerDoc({ keyChecksums: [checksumOf(key), checksumOf(key)] }),
      key,
      signAs: w.alice,
    });
    const known: FolderState = { checksumHistory: [old, checksumOf(key)] };
    const v = await open(d, w.alice, { known });
    expect(codes(v)).toEqual(expect.arrayContaining(['duplicate-checksums', 'checksum-history-shrank']));
    expect(v.state.checksumHistory).toEqual([old, checksumOf(key)]);
    await expect(open(d, w.alice, { known, strict: true })).rejects.toMatchObject({ kind: 'key-checksum' });
  });
});

describe('§6.8 signature variants', () => {
  it('desktop-style: encryptedFiledropKey members in users removed before signing (G-14)', async () => {
    const key = randomBytes(16);
    const d = await buildDoc({
      users: [w.alice, w.bob],
      inner: innerDoc({}, key),
      key,
      extraUserMembers: { encryptedFiledropKey: 'AAAA' },
      signForm: 'desktop',
      signAs: w.bob,
    });
    const v = await open(d);
    expect(v.signer).toBe('bob');
    expect(codes(v)).toContain('stored-order-signature');
  });

  it('Android/Gson stored-order signature (declaration order, unsorted) verifies via the fallback', async () => {
    const key = randomBytes(16);
    const d = await buildDoc({
      users: [w.alice],
      inner: innerDoc({}, key),
      key,
      order: 'gson',
      signForm: 'stored',
      signAs: w.alice,
    });
    expect(d.text.indexOf('"ciphertext"')).toBeLessThan(d.text.indexOf('"authenticationTag"'));
    const v = await open(d);
    expect(v.signer).toBe('alice');
    expect(codes(v)).toContain('stored-order-signature');
  });

  it('authenticationTag member mismatch is tolerated and reported (G-8 / §6.3)', async () => {
    const key = randomBytes(16);
    const d = await buildDoc({
      users: [w.alice],
      inner: innerDoc({}, key),
      key,
      tagMember: b64(randomBytes(16)),
      signAs: w.alice,
    });
    expect(codes(await open(d))).toEqual(['tag-mismatch']);
  });
});

describe('G-35 PKCS#1 v1.5-wrapped metadata key (hardware token)', () => {
  it('decrypts via the BigInt fallback with a warning', async () => {
    const key = randomBytes(16);
    const d = await buildDoc({ users: [w.alice], inner: innerDoc({}, key), key, signAs: w.alice });
    const doc = JSON.parse(d.text);
    doc.users[0].encryptedMetadataKey = nodePkcs1(w.alice.publicPem, key);
    const { sortedJson, signText } = await import('./fixtures');
    const text = JSON.stringify(doc);
    const v = await open({ text, signature: await signText(sortedJson(doc), w.alice), key });
    expect(codes(v)).toContain('pkcs1-v15-key');
    expect(Buffer.from(v.metadataKey)).toEqual(key);
    const off = verifyRootMetadata({
      document: text,
      signature: await signText(sortedJson(doc), w.alice),
      self: { userId: 'alice', key: w.alice.key },
      serverPublicKeyPem: w.serverPem,
      allowPkcs1v15: false,
    });
    await expect(off).rejects.toMatchObject({ kind: 'metadata' });
  });
});

describe('§6.7 counter (G-17: relative only)', () => {
  it('accepts any start, higher later; rejects lower and equal-with-other-content', async () => {
    const key = randomBytes(16);
    const mk = (counter: number, name: string) =>
      buildDoc({
        users: [w.alice],
        inner: innerDoc({ counter, folders: { [hexId()]: name } }, key),
        key,
        signAs: w.alice,
      });
    const first = await open(await mk(17, 'a'));
    const later = await open(await mk(18, 'b'), w.alice, { known: first.state });
    expect(later.state.counter.counter).toBe(18);
    await expect(open(await mk(16, 'c'), w.alice, { known: later.state })).rejects.toMatchObject({
      kind: 'counter',
    });
    await expect(open(await mk(18, 'different'), w.alice, { known: later.state })).rejects.toMatchObject({
      kind: 'counter',
    });
    // the same content re-encrypted (new nonce) at the same counter is fine
    const d = await mk(30, 'same');
    const v1 = await open(d);
    const inner = JSON.parse(
      JSON.stringify({
        counter: 30,
        deleted: false,
        keyChecksums: [checksumOf(key)],
        folders: Object.fromEntries(v1.inner.folders),
        files: {},
      }),
    );
    const re = await buildDoc({ users: [w.alice], inner, key, signAs: w.alice });
    expect((await open(re, w.alice, { known: v1.state })).unchanged).toBe(true);
  });
});

it('isCipherfoldError sanity', () => {
  expect(isCipherfoldError(new Error('x'))).toBe(false);
});
