import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  copyEntry,
  deleteEntries,
  deleteRoot,
  moveEntry,
  renameEntry,
  uploadFiles,
  uploadTree,
} from '../../../lib/engine/ops';
import type { E2eeSession, OpenedFolder } from '../../../lib/engine/folders';
import { enc, kindOf, makeWorld, rootName, snapshot, source, type World } from './helpers';

async function tree(s: E2eeSession): Promise<{ root: OpenedFolder; a: OpenedFolder; b: OpenedFolder }> {
  const ref = await s.createRoot('/', rootName());
  let root = await s.open(ref.path);
  await uploadTree(s, root, [
    { kind: 'file', source: source('top.txt', 'top') },
    {
      kind: 'folder',
      name: 'A',
      children: [source('a1.txt', 'one'), source('a2.txt', 'two')].map((x) => ({
        kind: 'file' as const,
        source: x,
      })),
    },
    {
      kind: 'folder',
      name: 'B',
      children: [
        { kind: 'folder', name: 'Deep', children: [{ kind: 'file', source: source('d.txt', 'deep') }] },
      ],
    },
  ]);
  root = await s.reopen(root);
  const pathOf = (name: string) => `${root.ref.path}/${root.entries.find((e) => e.name === name)!.id}`;
  return { root, a: await s.open(pathOf('A')), b: await s.open(pathOf('B')) };
}

const idOf = (f: OpenedFolder, name: string) => f.entries.find((e) => e.name === name)!.id;

describe.each(['main', 'nc31'] as const)('folder operations (%s)', (flavour) => {
  let w: World;
  beforeAll(async () => {
    w = await makeWorld(flavour, ['alice', 'bob']);
  });
  afterAll(() => w.close());

  it('upload tree, rename file and folder', async () => {
    const s = w.session('alice');
    const { root, a } = await tree(s);
    expect(await snapshot(s, root.ref.path)).toEqual({
      'top.txt': 'top',
      A: { 'a1.txt': 'one', 'a2.txt': 'two' },
      B: { Deep: { 'd.txt': 'deep' } },
    });
    await renameEntry(s, a, idOf(a, 'a1.txt'), 'first.txt');
    const r = await s.reopen(root);
    await renameEntry(s, r, idOf(r, 'B'), 'Bee');
    expect(await kindOf(renameEntry(s, await s.reopen(r), idOf(r, 'A'), 'top.txt'))).toBe('conflict');
    expect(await snapshot(s, root.ref.path)).toEqual({
      'top.txt': 'top',
      A: { 'first.txt': 'one', 'a2.txt': 'two' },
      Bee: { Deep: { 'd.txt': 'deep' } },
    });
  });

  it('move a file (re-encrypted) and a sub-folder (server MOVE) between folders', async () => {
    const s = w.session('alice');
    const { root, a, b } = await tree(s);
    const oldKey = a.verified.inner.files.get(idOf(a, 'a1.txt'))!.key;
    const newId = await moveEntry(s, a, idOf(a, 'a1.txt'), b);
    const b2 = await s.reopen(b);
    expect(b2.verified.inner.files.get(newId)!.key).not.toEqual(oldKey);
    await moveEntry(s, b2, idOf(b2, 'Deep'), await s.reopen(a));
    const r = await s.reopen(root);
    await moveEntry(s, r, idOf(r, 'top.txt'), await s.reopen(a), { newName: 'was-top.txt' });
    expect(await snapshot(s, root.ref.path)).toEqual({
      A: { 'a2.txt': 'two', Deep: { 'd.txt': 'deep' }, 'was-top.txt': 'top' },
      B: { 'a1.txt': 'one' },
    });
    const a3 = await s.reopen(a);
    expect(
      await kindOf(
        moveEntry(
          s,
          await s.reopen(root),
          idOf(await s.reopen(root), 'A'),
          await s.open(`${a3.ref.path}/${idOf(a3, 'Deep')}`),
        ),
      ),
    ).toBe('unsupported');
    expect(w.srv.control.lockOf(Number(root.ref.fileId))).toBeUndefined();
  });

  it('copy a file and a folder tree with fresh keys', async () => {
    const s = w.session('alice');
    const { root, a, b } = await tree(s);
    const id = await copyEntry(s, a, idOf(a, 'a2.txt'), b);
    const b2 = await s.reopen(b);
    expect(b2.verified.inner.files.get(id)!.key).not.toEqual(
      a.verified.inner.files.get(idOf(a, 'a2.txt'))!.key,
    );
    await copyEntry(s, await s.reopen(root), idOf(root, 'B'), await s.reopen(a), { newName: 'B copy' });
    await copyEntry(s, await s.reopen(a), idOf(a, 'a1.txt'), await s.reopen(a), { newName: 'a1 copy.txt' });
    expect(await snapshot(s, root.ref.path)).toEqual({
      'top.txt': 'top',
      A: {
        'a1.txt': 'one',
        'a2.txt': 'two',
        'a1 copy.txt': 'one',
        'B copy': { Deep: { 'd.txt': 'deep' }, 'a2.txt': 'two' },
      },
      B: { Deep: { 'd.txt': 'deep' }, 'a2.txt': 'two' },
    });
    // never a server COPY
    expect(w.srv.control.requests.some((r) => r.method === 'COPY')).toBe(false);
  });

  it('delete files and sub-folders (metadata of the sub-folder deleted too)', async () => {
    const s = w.session('alice');
    const { root, b } = await tree(s);
    const deepFileId = w.srv.control.fileIdOf('alice', `${b.ref.path}/${idOf(b, 'Deep')}`)!;
    await deleteEntries(s, root, [idOf(root, 'top.txt'), idOf(root, 'B')]);
    expect(await snapshot(s, root.ref.path)).toEqual({ A: { 'a1.txt': 'one', 'a2.txt': 'two' } });
    expect(w.srv.control.committedMetadata(Number(b.ref.fileId))).toBeUndefined();
    expect(w.srv.control.fileIdOf('alice', b.ref.path)).toBeUndefined();
    expect(deepFileId).toBeGreaterThan(0);
  });

  it('upload many files under one lock', async () => {
    const s = w.session('alice');
    const ref = await s.createRoot('/', rootName());
    const root = await s.open(ref.path);
    const before = w.srv.control.requests.length;
    await uploadFiles(s, root, [source('1.txt', 'a'), source('2.txt', 'b'), source('3.txt', 'c')]);
    const locks = w.srv.control.requests
      .slice(before)
      .filter((r) => r.method === 'POST' && r.path.includes('/lock/'));
    expect(locks).toHaveLength(1);
    expect(await snapshot(s, ref.path)).toEqual({ '1.txt': 'a', '2.txt': 'b', '3.txt': 'c' });
    expect(await kindOf(uploadFiles(s, await s.reopen(root), [source('x', '1'), source('x', '2')]))).toBe(
      'conflict',
    );
  });

  it('delete a root (deleted: true kept in metadata)', async () => {
    const s = w.session('alice');
    const { root } = await tree(s);
    expect(await deleteRoot(s, root)).toEqual({ action: 'deleted' });
    expect(w.srv.control.fileIdOf('alice', root.ref.path)).toBeUndefined();
    expect(w.srv.control.committedMetadata(Number(root.ref.fileId))).toBeDefined();
  });

  it('a sharee leaving a shared root only unshares (G-25) and sub-folder flags (G-16)', async () => {
    const s = w.session('alice');
    const name = rootName('shared');
    const ref = await s.createRoot('/', name);
    // share with bob: add him to the metadata (key rotation) and create the OCS share
    const { addUser } = await import('../../../lib/protocol/metadata');
    const root = await s.open(ref.path);
    await s.lockFolder(root, async (cycle, f) => {
      const { cycleDraft, writeDraft } = await import('../../../lib/engine/drafts');
      const d = await addUser(cycleDraft(cycle, f.ref.fileId, f.verified), {
        userId: 'bob' as never,
        certificatePem: w.keys['bob']!.certificatePem,
      });
      await writeDraft(s.client, cycle, f.ref.fileId, d, d.metadataKey, s.signer);
    });
    await s.client.shares.create({ path: ref.path, shareType: 0, shareWith: 'bob', permissions: 31 });
    const bob = w.session('bob');
    const bobRoot = await bob.open('/' + name);
    expect(bobRoot.root.receivedShare).toBe(true);
    const r = await uploadTree(bob, bobRoot, [
      { kind: 'folder', name: 'from bob', children: [{ kind: 'file', source: source('b.txt', 'bob') }] },
    ]);
    // NC 31 answers 200 to the sharee's flag request but flags nothing
    expect(r.unflagged.length).toBe(flavour === 'nc31' ? 1 : 0);
    expect(await snapshot(bob, '/' + name)).toEqual({ 'from bob': { 'b.txt': 'bob' } });
    const before = w.srv.control.committedMetadata(Number(ref.fileId))!.text;
    expect(await deleteRoot(bob, await bob.open('/' + name))).toEqual({ action: 'left-share' });
    expect(w.srv.control.committedMetadata(Number(ref.fileId))!.text).toBe(before);
    expect(await snapshot(s, ref.path)).toEqual({ 'from bob': { 'b.txt': 'bob' } });
    expect(await kindOf(bob.open('/' + name))).toBe('not-found');
  });

  it('an empty selection or a stale item is refused without locking', async () => {
    const s = w.session('alice');
    const ref = await s.createRoot('/', rootName());
    const root = await s.open(ref.path);
    await deleteEntries(s, root, []);
    expect(await kindOf(renameEntry(s, root, 'ab'.repeat(16) as never, 'x'))).toBe('missing-file');
    expect(w.srv.control.lockOf(Number(ref.fileId))).toBeUndefined();
    void enc;
  });
});
