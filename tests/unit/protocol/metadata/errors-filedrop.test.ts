/** One negative test (at least) per error kind, and filedrop decryption + migration (§6.6, §9.16). */
import { beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  applyFiledropMigration,
  checkMetadata,
  decryptFiledrop,
  serialiseRoot,
  verifyRootMetadata,
  verifySubMetadata,
  verifyMetadata,
  withCounter,
  type FolderState,
  type Uuid32,
} from '../../../../lib/protocol/metadata';
import {
  b64,
  makeWorld,
  nodeEncryptJson,
  nodeOaep,
  signText,
  sortedJson,
  type TestUser,
  type World,
} from './fixtures';
import { buildDoc, checksumOf, fileJson, hexId, innerDoc, type BuiltDoc } from './docs';

let w: World;
beforeAll(async () => {
  w = await makeWorld();
});

function open(
  d: { text: string; signature: string | undefined },
  u: TestUser = w.alice,
  extra: { known?: FolderState; pins?: Map<string, string>; now?: Date } = {},
) {
  return verifyRootMetadata({
    document: d.text,
    signature: d.signature,
    self: { userId: u.userId, key: u.key },
    serverPublicKeyPem: w.serverPem,
    ...extra,
  });
}

async function rootDoc(users: TestUser[] = [w.alice, w.bob], signAs = w.alice): Promise<BuiltDoc> {
  const key = randomBytes(16);
  return buildDoc({ users, inner: innerDoc({}, key), key, signAs });
}

/** Changes the parsed document and re-signs it (as a member could). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests edit arbitrary JSON
type AnyDoc = any;
async function resign(d: BuiltDoc, edit: (doc: AnyDoc) => void, as: TestUser = w.alice): Promise<BuiltDoc> {
  const doc = JSON.parse(d.text);
  edit(doc);
  const { filedrop: _drop, ...signed } = doc;
  return { text: JSON.stringify(doc), signature: await signText(sortedJson(signed), as), key: d.key };
}

describe('signature errors', () => {
  it('missing signature (2.x)', async () => {
    const d = await rootDoc();
    await expect(open({ text: d.text, signature: undefined })).rejects.toMatchObject({ kind: 'signature' });
    await expect(open({ text: d.text, signature: '  ' })).rejects.toMatchObject({ kind: 'signature' });
  });
  it('signer is not a member (valid certificate, not in users)', async () => {
    const d = await buildDoc({
      users: [w.alice],
      inner: innerDoc({}, Buffer.alloc(16, 1)),
      key: Buffer.alloc(16, 1),
      signAs: w.carol,
    });
    await expect(open(d)).rejects.toMatchObject({ kind: 'signature' });
  });
  it('content changed after signing', async () => {
    const d = await rootDoc();
    const doc = JSON.parse(d.text);
    doc.users.reverse();
    await expect(open({ text: JSON.stringify(doc), signature: d.signature })).rejects.toMatchObject({
      kind: 'signature',
    });
  });
  it('garbage signature', async () => {
    const d = await rootDoc();
    for (const s of ['AAAA', 'not base64 !!', b64(randomBytes(300))]) {
      await expect(open({ text: d.text, signature: s })).rejects.toMatchObject({ kind: 'signature' });
    }
  });
  it('sub-folder signed by someone who is not a ROOT member', async () => {
    const key = randomBytes(16);
    const root = await open(
      await buildDoc({ users: [w.alice], inner: innerDoc({}, key), key, signAs: w.alice }),
    );
    const sub = await buildDoc({ inner: innerDoc(), key, signAs: w.bob });
    await expect(
      verifySubMetadata({ document: sub.text, signature: sub.signature, root }),
    ).rejects.toMatchObject({
      kind: 'signature',
    });
  });
});

describe('certificate errors', () => {
  it('member certificate issued by another server key', async () => {
    const d = await rootDoc([w.alice, w.bob]);
    const bad = await resign(d, (doc) => (doc.users[0].certificate = w.rogueAliceCertPem));
    await expect(open(bad)).rejects.toMatchObject({ kind: 'certificate' });
  });
  it('TOFU pin mismatch', async () => {
    const d = await rootDoc();
    await expect(
      open(d, w.alice, { pins: new Map([['alice', w.aliceReissuedCertPem]]) }),
    ).rejects.toMatchObject({
      kind: 'certificate',
    });
    const ok = await open(d, w.alice, { pins: new Map([['alice', w.alice.certificatePem]]) });
    expect([...ok.newPins.keys()]).toEqual(['bob']);
  });
  it('expired certificate, CN ≠ userId, unreadable PEM', async () => {
    const d = await rootDoc();
    await expect(open(d, w.alice, { now: new Date(Date.now() + 7400 * 86400_000) })).rejects.toMatchObject({
      kind: 'certificate',
    });
    const swapped = await resign(d, (doc) => (doc.users[1].certificate = w.carol.certificatePem));
    await expect(open(swapped)).rejects.toMatchObject({ kind: 'certificate' });
    const junk = await resign(
      d,
      (doc) => (doc.users[1].certificate = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
    );
    await expect(open(junk)).rejects.toMatchObject({ kind: 'certificate' });
  });
});

describe('key-checksum errors', () => {
  it('metadata key not listed (injected key) and root without keyChecksums', async () => {
    const key = randomBytes(16);
    const other = buildDoc({
      users: [w.alice],
      inner: innerDoc({ keyChecksums: [checksumOf(randomBytes(16))] }),
      key,
      signAs: w.alice,
    });
    await expect(open(await other)).rejects.toMatchObject({ kind: 'key-checksum' });
    const none = buildDoc({ users: [w.alice], inner: innerDoc({}), key, signAs: w.alice });
    await expect(open(await none)).rejects.toMatchObject({ kind: 'key-checksum' });
  });
});

describe('counter, metadata, tag, format errors', () => {
  it('counter went backwards', async () => {
    const key = randomBytes(16);
    const d = await buildDoc({
      users: [w.alice],
      inner: innerDoc({ counter: 2 }, key),
      key,
      signAs: w.alice,
    });
    const known: FolderState = { counter: { counter: 3, fingerprint: 'x' } };
    await expect(open(d, w.alice, { known })).rejects.toMatchObject({ kind: 'counter' });
  });
  it('metadata: not JSON, not a member, unknown version, downgrade to 1.x, wrong kind', async () => {
    await expect(open({ text: '{"metadata":', signature: 'x' })).rejects.toMatchObject({ kind: 'metadata' });
    await expect(open(await rootDoc([w.alice]), w.bob)).rejects.toMatchObject({ kind: 'metadata' });
    await expect(
      open({ text: '{"metadata":{"ciphertext":"AA","nonce":"AA"},"version":"9"}', signature: 'x' }),
    ).rejects.toMatchObject({
      kind: 'metadata',
    });
    const v1 = '{"metadata":{"metadataKey":"AAAA","version":1.2},"files":{}}';
    await expect(
      verifyMetadata({
        document: v1,
        signature: undefined,
        self: { userId: 'alice', key: w.alice.key },
        serverPublicKeyPem: w.serverPem,
        known: { seenV2: true },
      }),
    ).rejects.toMatchObject({ kind: 'metadata' });
    const key = randomBytes(16);
    const root = await open(
      await buildDoc({ users: [w.alice], inner: innerDoc({}, key), key, signAs: w.alice }),
    );
    const asSub = await rootDoc();
    await expect(
      verifySubMetadata({ document: asSub.text, signature: asSub.signature, root }),
    ).rejects.toMatchObject({
      kind: 'metadata',
    });
  });
  it('tag: ciphertext changed (and re-signed by a member)', async () => {
    const d = await rootDoc();
    const bad = await resign(d, (doc) => {
      const ct = Buffer.from(doc.metadata.ciphertext, 'base64');
      ct[3] = ct[3]! ^ 1;
      doc.metadata.ciphertext = ct.toString('base64');
    });
    await expect(open(bad)).rejects.toMatchObject({ kind: 'tag' });
  });
  it('format: ciphertext is not base64; checkMetadata returns the typed error as a value', async () => {
    const d = await rootDoc();
    const bad = await resign(d, (doc) => (doc.metadata.ciphertext = '*not*base64*'));
    await expect(open(bad)).rejects.toMatchObject({ kind: 'format' });
    const r = await checkMetadata({
      document: bad.text,
      signature: bad.signature,
      self: { userId: 'alice', key: w.alice.key },
      serverPublicKeyPem: w.serverPem,
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.kind).toBe('format');
  });
});

// ---- filedrop ----

function filedropEntry(
  recipients: TestUser[],
  info: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  const fk = randomBytes(16);
  const { ct, nonce, tag } = nodeEncryptJson(JSON.stringify(info), fk, 12);
  return {
    ciphertext: b64(ct),
    nonce: b64(nonce),
    authenticationTag: b64(tag),
    users: recipients.map((u) => ({ userId: u.userId, encryptedFiledropKey: nodeOaep(u.publicPem, fk) })),
    ...extra,
  };
}

describe('filedrop (§6.6, §9.16)', () => {
  it('decrypts own entries, keeps the rest, migrates into files, and the rewrite keeps unmigrated entries (G-26)', async () => {
    const key = randomBytes(16);
    const existing = hexId();
    const [good, other, chunked, broken, clash, folderish] = [
      hexId(),
      hexId(),
      hexId(),
      hexId(),
      existing,
      hexId(),
    ];
    const fd = {
      [good]: filedropEntry([w.alice, w.bob], { ...fileJson('up.jpg'), filesize: 3 }),
      [other]: filedropEntry([w.bob], fileJson('bob-only')),
      [chunked]: filedropEntry([w.alice], fileJson('c'), { chunked: true, nonce: '', authenticationTag: '' }),
      [broken]: { ...filedropEntry([w.alice], fileJson('b')), ciphertext: b64(randomBytes(40)) },
      [clash]: filedropEntry([w.alice], fileJson('evil replacement')),
      [folderish]: filedropEntry([w.alice], { filename: 'dir', mimetype: 'httpd/unix-directory' }),
      'not-a-uuid': filedropEntry([w.alice], fileJson('n')),
    };
    const d = await buildDoc({
      users: [w.alice, w.bob],
      inner: innerDoc({ files: { [existing]: fileJson('original') } }, key),
      key,
      filedropLiteral: JSON.stringify(fd),
      signAs: w.alice,
    });
    const root = await open(d);
    expect(root.filedrop.size).toBe(7);
    const dec = await decryptFiledrop(root.filedrop, { userId: 'alice', key: w.alice.key });
    expect([...dec.migrated.keys()].sort()).toEqual([good, clash].sort());
    expect(dec.migrated.get(good as Uuid32)?.filename).toBe('up.jpg');
    expect(dec.kept.size).toBe(5);
    const { draft, applied, warnings } = applyFiledropMigration(root, dec);
    expect(applied).toEqual([good]);
    expect(warnings.map((x) => x.code)).toEqual(['filedrop-conflict']);
    expect(draft.inner.files.get(existing as Uuid32)?.filename).toBe('original');
    const out = await serialiseRoot(withCounter(draft, draft.inner.counter + 1), {
      key: w.alice.key,
      certificatePem: w.alice.certificatePem,
    });
    const outer = JSON.parse(out.text);
    expect(Object.keys(outer.filedrop).sort()).toEqual(
      [other, chunked, broken, clash, folderish, 'not-a-uuid'].sort(),
    );
    expect(outer.filedrop[other]).toEqual(fd[other]);
    const asBob = await open(out, w.bob);
    expect(asBob.inner.files.get(good as Uuid32)?.filename).toBe('up.jpg');
    // bob can now migrate his entry; afterwards only unreadable entries remain
    const dec2 = await decryptFiledrop(asBob.filedrop, { userId: 'bob', key: w.bob.key });
    expect([...dec2.migrated.keys()]).toEqual([other]);
    const all = applyFiledropMigration(asBob, dec2).draft;
    expect(all.filedrop.has(other)).toBe(false);
    // once everything readable is migrated and nothing is left, no filedrop member is written
    const empty = await serialiseRoot(withCounter({ ...all, filedrop: new Map() }, 9), {
      key: w.bob.key,
      certificatePem: w.bob.certificatePem,
    });
    expect(Object.keys(JSON.parse(empty.text))).toEqual(['metadata', 'users', 'version']);
  });
});
