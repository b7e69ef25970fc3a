import { beforeAll, describe, expect, it } from 'vitest';
import { createHash, privateDecrypt, constants } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { createDecipheriv } from 'node:crypto';
import {
  addUser,
  createRootDraft,
  createSubDraft,
  newUuid32,
  putFile,
  putFolder,
  removeFile,
  removeUser,
  serialiseRoot,
  serialiseSub,
  verifyMetadata,
  verifyRootMetadata,
  verifySubMetadata,
  withCounter,
  nextCounter,
  markRootDeleted,
  parseMetadata,
  type FileEntry,
  type RootDraft,
  type Uuid32,
  type VerifiedRoot,
} from '../../../../lib/protocol/metadata';
import { randomBytes, toHex } from '../../../../lib/crypto/bytes';
import { isCipherfoldError } from '../../../../lib/errors';
import { makeWorld, sortedJson, type TestUser, type World } from './fixtures';

let w: World;
beforeAll(async () => {
  w = await makeWorld();
});

const file = (name: string): FileEntry => ({
  filename: name,
  mimetype: 'text/plain',
  key: randomBytes(16),
  nonce: randomBytes(12),
  authenticationTag: randomBytes(16),
});

const signer = (u: TestUser) => ({ key: u.key, certificatePem: u.certificatePem });

async function openRoot(text: string, signature: string, u: TestUser): Promise<VerifiedRoot> {
  return verifyRootMetadata({
    document: text,
    signature,
    self: { userId: u.userId, key: u.key },
    serverPublicKeyPem: w.serverPem,
  });
}

async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (isCipherfoldError(e)) return e.kind;
    throw e;
  }
}

describe('ids', () => {
  it('newUuid32 is 32 lowercase hex with at least one letter (G-34)', () => {
    for (let i = 0; i < 200; i++) expect(newUuid32()).toMatch(/^(?=.*[a-f])[0-9a-f]{32}$/);
  });
});

describe('root round trip', () => {
  it('build → encrypt → sign → serialise → parse → verify → decrypt', async () => {
    let root: RootDraft = await createRootDraft({
      userId: w.alice.userId,
      certificatePem: w.alice.certificatePem,
    });
    const f1 = newUuid32();
    const d1 = newUuid32();
    root = putFolder(putFile(root, f1, file('a.txt')), d1, 'Sub folder ü/€');
    root = withCounter(root, nextCounter(root.inner.counter));
    const out = await serialiseRoot(root, signer(w.alice));

    // exactly the allowed members, in sorted order, and the stored text is the canonical form
    const outer = JSON.parse(out.text) as Record<string, unknown>;
    expect(Object.keys(outer)).toEqual(['metadata', 'users', 'version']);
    expect(out.text).toBe(sortedJson(outer));
    expect(Object.keys(outer['metadata'] as object)).toEqual(['authenticationTag', 'ciphertext', 'nonce']);
    expect(Object.keys((outer['users'] as object[])[0]!)).toEqual([
      'certificate',
      'encryptedMetadataKey',
      'userId',
    ]);
    expect(outer['version']).toBe('2.0');
    expect(Buffer.from((outer['metadata'] as { nonce: string }).nonce, 'base64')).toHaveLength(12);

    const v = await openRoot(out.text, out.signature, w.alice);
    expect(v.kind).toBe('v2-root');
    expect(v.signer).toBe('alice');
    expect(v.inner.counter).toBe(2);
    expect(v.inner.files.get(f1)?.filename).toBe('a.txt');
    expect(v.inner.folders.get(d1)).toBe('Sub folder ü/€');
    expect(v.inner.keyChecksums).toEqual([toHex(createHash('sha256').update(root.metadataKey).digest())]);
    expect([...v.newPins.keys()]).toEqual(['alice']);
    expect(v.warnings).toEqual([]);
    expect(v.state.counter.counter).toBe(2);
    expect(v.state.seenV2).toBe(true);

    // independently decrypt with Node: RSA-OAEP of the raw key, gzip + AES-128-GCM
    const u0 = (outer['users'] as { encryptedMetadataKey: string }[])[0]!;
    const k = privateDecrypt(
      { key: w.alice.privatePem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      Buffer.from(u0.encryptedMetadataKey, 'base64'),
    );
    expect(k).toHaveLength(16);
    const m = outer['metadata'] as { ciphertext: string; nonce: string; authenticationTag: string };
    const ct = Buffer.from(m.ciphertext, 'base64');
    expect(m.authenticationTag).toBe(ct.subarray(ct.length - 16).toString('base64'));
    const dec = createDecipheriv('aes-128-gcm', k, Buffer.from(m.nonce, 'base64'));
    dec.setAuthTag(ct.subarray(ct.length - 16));
    const inner = JSON.parse(
      gunzipSync(Buffer.concat([dec.update(ct.subarray(0, ct.length - 16)), dec.final()])).toString(),
    );
    expect(Object.keys(inner).sort()).toEqual(['counter', 'deleted', 'files', 'folders', 'keyChecksums']);
    expect(inner.files[f1].mimetype).toBe('text/plain');

    // re-reading the same document is "unchanged"; a replay of an older one is a counter error
    const again = await verifyRootMetadata({
      document: out.text,
      signature: out.signature,
      self: { userId: 'alice', key: w.alice.key },
      serverPublicKeyPem: w.serverPem,
      known: v.state,
      pins: v.newPins,
    });
    expect(again.unchanged).toBe(true);
  });

  it('sub-folder: encrypted with the root key, signed, no users, no keyChecksums, version 2.0 under 2.1', async () => {
    let root = await createRootDraft({ userId: w.alice.userId, certificatePem: w.alice.certificatePem });
    root = await addUser(root, { userId: w.share.userId, certificatePem: w.share.certificatePem });
    expect(root.version).toBe('2.1');
    const r = await serialiseRoot(root, signer(w.alice));
    const vr = await openRoot(r.text, r.signature, w.alice);
    let sub = createSubDraft();
    const id = newUuid32();
    sub = withCounter(putFile(sub, id, file('deep.bin')), 1);
    const s = await serialiseSub(sub, vr.metadataKey, signer(w.alice));
    const outer = JSON.parse(s.text) as Record<string, unknown>;
    expect(Object.keys(outer)).toEqual(['metadata', 'version']);
    expect(outer['version']).toBe('2.0');
    const vs = await verifySubMetadata({ document: s.text, signature: s.signature, root: vr });
    expect(vs.kind).toBe('v2-sub');
    expect(vs.inner.keyChecksums).toBeUndefined();
    expect(vs.inner.files.get(id)?.filename).toBe('deep.bin');
    // the share user can read the sub-folder too (dispatcher)
    const vrShare = await openRoot(r.text, r.signature, w.share);
    const vs2 = await verifyMetadata({
      document: s.text,
      signature: s.signature,
      self: { userId: w.share.userId, key: w.share.key },
      serverPublicKeyPem: w.serverPem,
      root: vrShare,
    });
    expect(vs2.kind).toBe('v2-sub');
    // sub-folder signed by the share user (a member of the root) also verifies
    const s2 = await serialiseSub(withCounter(sub, 2), vr.metadataKey, signer(w.share));
    expect((await verifySubMetadata({ document: s2.text, signature: s2.signature, root: vr })).signer).toBe(
      w.share.userId,
    );
  });

  it('2.1 with an s: user; removing it rotates the key and keeps 2.1 (never downgraded)', async () => {
    let root = await createRootDraft({ userId: w.alice.userId, certificatePem: w.alice.certificatePem });
    const k0 = root.metadataKey;
    root = await addUser(root, { userId: w.share.userId, certificatePem: w.share.certificatePem });
    const k1 = root.metadataKey;
    expect(toHex(k1)).not.toBe(toHex(k0));
    const out = await serialiseRoot(root, signer(w.share));
    expect(JSON.parse(out.text).version).toBe('2.1');
    const asShare = await openRoot(out.text, out.signature, w.share);
    expect(asShare.signer).toBe(w.share.userId);
    root = await removeUser(root, w.share.userId);
    expect(root.version).toBe('2.1');
    expect(root.users.map((u) => u.userId)).toEqual(['alice']);
    expect(root.inner.keyChecksums).toHaveLength(3);
    const out2 = await serialiseRoot(root, signer(w.alice));
    expect(JSON.parse(out2.text).version).toBe('2.1');
    expect(await kindOf(openRoot(out2.text, out2.signature, w.share))).toBe('metadata');
  });

  it('key rotation on add/remove: new key for everyone, checksums appended never removed, order kept', async () => {
    let root = await createRootDraft({ userId: w.alice.userId, certificatePem: w.alice.certificatePem });
    const id = newUuid32();
    root = putFile(root, id, file('x'));
    const sums: string[] = [...root.inner.keyChecksums!];
    root = await addUser(root, { userId: w.bob.userId, certificatePem: w.bob.certificatePem });
    sums.push(toHex(createHash('sha256').update(root.metadataKey).digest()));
    root = await addUser(root, { userId: w.carol.userId, certificatePem: w.carol.certificatePem });
    sums.push(toHex(createHash('sha256').update(root.metadataKey).digest()));
    expect(root.users.map((u) => u.userId)).toEqual(['alice', 'bob', 'carol']);
    expect(root.inner.keyChecksums).toEqual(sums);
    expect(await kindOf(addUser(root, { userId: w.bob.userId, certificatePem: w.bob.certificatePem }))).toBe(
      'unsupported',
    );

    const beforeRemoval = root.metadataKey;
    const oldSub = await serialiseSub(withCounter(createSubDraft(), 1), beforeRemoval, signer(w.alice));
    root = await removeUser(root, w.bob.userId);
    expect(root.users.map((u) => u.userId)).toEqual(['alice', 'carol']);
    expect(root.inner.keyChecksums).toHaveLength(4);
    expect(root.inner.keyChecksums!.slice(0, 3)).toEqual(sums);
    expect(root.version).toBe('2.0');
    const out = await serialiseRoot(withCounter(root, 5), signer(w.carol));
    const asCarol = await openRoot(out.text, out.signature, w.carol);
    expect(asCarol.inner.files.get(id)?.filename).toBe('x');
    expect(await kindOf(openRoot(out.text, out.signature, w.bob))).toBe('metadata');
    // sub-folders must be re-encrypted: one still under the old key no longer opens
    expect(
      await kindOf(verifySubMetadata({ document: oldSub.text, signature: oldSub.signature, root: asCarol })),
    ).toBe('tag');
    const newSub = await serialiseSub(withCounter(createSubDraft(), 2), root.metadataKey, signer(w.alice));
    expect(
      (await verifySubMetadata({ document: newSub.text, signature: newSub.signature, root: asCarol })).inner
        .counter,
    ).toBe(2);
    // removing the last member is refused
    const solo = await createRootDraft({ userId: w.alice.userId, certificatePem: w.alice.certificatePem });
    expect(await kindOf(removeUser(solo, w.alice.userId))).toBe('unsupported');
  });

  it('edits: removeFile, deleted root, keep folders in folders', async () => {
    let root = await createRootDraft({ userId: w.alice.userId, certificatePem: w.alice.certificatePem });
    const a = newUuid32();
    root = removeFile(putFile(root, a, file('a')), a);
    expect(root.inner.files.size).toBe(0);
    const d = markRootDeleted(putFolder(root, newUuid32(), 'x'));
    expect(d.inner.deleted).toBe(true);
    expect(d.inner.folders.size).toBe(0);
    const out = await serialiseRoot(withCounter(d, 9), signer(w.alice));
    const v = await openRoot(out.text, out.signature, w.alice);
    expect(v.inner.deleted).toBe(true);
    expect(() => putFile(putFolder(root, a, 'f'), a, file('x'))).toThrow();
    expect(parseMetadata(out.text).kind).toBe('v2-root');
    expect(a as Uuid32).toMatch(/^[0-9a-f]{32}$/);
  });
});
