/**
 * The engine side of the folder view against the stand-in: what the content script may learn (booleans,
 * ids), view confinement to a server-verified encrypted root, engine-owned transfers and the confirmation gate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utf8 } from '../../../lib/crypto/bytes';
import { FolderCommandService, type FolderHandlers } from '../../../lib/engine/folder-commands';
import { isCipherfoldError } from '../../../lib/errors';
import {
  contentChannel,
  folderChannel,
  VAULT_LOCKED_MESSAGE,
  type TransferView,
} from '../../../lib/messages';
import { makeWorld, type World } from '../engine/helpers';

let world: World;
let svc: FolderCommandService;
let h: FolderHandlers;
let origin: string;

interface Recorded {
  state: 'open' | 'closed' | 'aborted';
  parts: Uint8Array[];
  deliver: string;
}
const sinks = new Map<string, Recorded>();

const concat = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));

/** Polls the engine's transfer list until the transfer ended. */
async function settle(transferId: string): Promise<TransferView> {
  for (let i = 0; i < 400; i++) {
    const t = (await h['folder/transfers']({ viewId: null })).transfers.find(
      (x) => x.transferId === transferId,
    );
    if (t && (t.state === 'done' || t.state === 'failed' || t.state === 'cancelled')) return t;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`transfer ${transferId} did not end`);
}

async function kind(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isCipherfoldError(e) ? e.kind : String(e);
  }
}

beforeAll(async () => {
  world = await makeWorld('main', ['alice']);
  origin = world.srv.url;
  const session = world.session('alice');
  await world.client('alice').dav.mkcol('/Plain');
  await world.client('alice').dav.mkcol('/Plain/Inner');
  const root = await session.createRoot('/', 'Vault');
  const folder = await session.open(root.path);
  await session.uploadFile(folder, 'secret.txt', utf8('top secret'), 'text/plain');
  await session.createFolder(await session.reopen(folder), 'Sub');
  svc = new FolderCommandService(
    { sessionFor: (o) => (o === origin ? session : undefined) },
    {
      sinkFor: (t) => {
        const rec: Recorded = { state: 'open', parts: [], deliver: t.deliver };
        sinks.set(t.transferId, rec);
        return {
          write: (c) => void rec.parts.push(c.slice()),
          close: () => void (rec.state = 'closed'),
          abort: () => void (rec.state = 'aborted'),
        };
      },
    },
  );
  h = svc.handlers();
}, 60_000);

afterAll(() => world?.close());

describe('content-script questions', () => {
  it('answers only booleans and server ids, checked with the server', async () => {
    expect(await svc.isEncryptedFolder(origin, '/Vault')).toEqual({ encrypted: true });
    expect(await svc.isEncryptedFolder(origin, '/Plain')).toEqual({ encrypted: false });
    expect(await svc.isEncryptedFolder(origin, '/Nope')).toEqual({ encrypted: false });
    expect(await svc.isEncryptedFolder('https://other.example', '/Vault')).toEqual({ encrypted: false });
    const kids = await svc.encryptedChildren(origin, '/');
    expect(kids.fileIds).toEqual([String(world.srv.control.fileIdOf('alice', '/Vault'))]);
    expect(contentChannel.isResult('content/encrypted-children', kids)).toBe(true);
  });

  it('opens views only for encrypted folders and only when unlocked', async () => {
    expect(await kind(svc.openView(origin, 1, '/Plain'))).toBe('unsupported');
    const locked = svc.openView('https://other.example', 1, '/Vault');
    await expect(locked).rejects.toMatchObject({ kind: 'locked', message: VAULT_LOCKED_MESSAGE });
  });
});

describe('folder view commands', () => {
  it('lists with decrypted names and crumbs, and stays inside the view root', async () => {
    const { viewId } = await svc.openView(origin, 1, '/Vault');
    const listing = await h['folder/open']({ viewId, path: null });
    expect(folderChannel.isResult('folder/open', listing)).toBe(true);
    expect(listing.crumbs).toEqual([{ name: 'Vault', path: '/Vault' }]);
    expect(listing.entries.map((e) => e.name).sort()).toEqual(['Sub', 'secret.txt']);
    const sub = listing.entries.find((e) => e.name === 'Sub')!;
    const inner = await h['folder/open']({ viewId, path: `/Vault/${sub.id}` });
    expect(inner.crumbs.map((c) => c.name)).toEqual(['Vault', 'Sub']);
    for (const path of ['/', '/Plain', '/Vaultx', '/Plain/Inner']) {
      expect(await kind(h['folder/open']({ viewId, path }))).toBe('permission');
    }
    expect(await kind(h['folder/open']({ viewId: 'x'.repeat(32), path: null }))).toBe('not-found');
    // Page hints resolve only to folders this view listed itself.
    expect(await h['folder/navigate-hint']({ viewId, fileId: sub.fileId! })).toEqual({
      path: `/Vault/${sub.id}`,
    });
    const plainId = String(world.srv.control.fileIdOf('alice', '/Plain'));
    expect(await h['folder/navigate-hint']({ viewId, fileId: plainId })).toEqual({ path: null });
  });

  it('uploads a file handed to the engine, downloads it through the sink only after the tag verified', async () => {
    const { viewId } = await svc.openView(origin, 1, '/Vault');
    const text = 'x'.repeat(300_000);
    const { transferId } = await h['folder/upload-begin']({
      viewId,
      path: '/Vault',
      name: 'x.txt',
      size: text.length,
      mimetype: 'text/plain',
    });
    // A file of another size, or an id that was never announced, is refused (nothing starts).
    expect(svc.attachUploadSource(transferId, new Blob(['short']))).toBe(false);
    expect(svc.attachUploadSource('A'.repeat(32), new Blob([text]))).toBe(false);
    expect(svc.attachUploadSource(transferId, new Blob([text]))).toBe(true);
    expect(svc.attachUploadSource(transferId, new Blob([text]))).toBe(false); // single use
    const up = await settle(transferId);
    expect(up).toMatchObject({ kind: 'upload', state: 'done', bytes: text.length, name: 'x.txt', viewId });
    expect(up.resultId).toMatch(/^[0-9a-f]{32}$/i);
    expect(folderChannel.isResult('folder/transfers', await h['folder/transfers']({ viewId: null }))).toBe(
      true,
    );

    const dl = await h['folder/download-begin']({
      viewId,
      path: '/Vault',
      id: up.resultId!,
      deliver: 'save',
    });
    expect(dl).toMatchObject({ name: 'x.txt', size: text.length, mimetype: 'text/plain' });
    expect(await settle(dl.transferId)).toMatchObject({
      state: 'done',
      kind: 'download',
      bytes: text.length,
    });
    expect(sinks.get(dl.transferId)).toMatchObject({ state: 'closed', deliver: 'save' });
    expect(new TextDecoder().decode(concat(sinks.get(dl.transferId)!.parts))).toBe(text);

    // A flipped ciphertext byte (written under a lock with the unchanged metadata, as a hostile server
    // could): the sink is aborted, never closed, and the transfer says why.
    const c = world.client('alice');
    const root = await world.session('alice').open('/Vault');
    const blobPath = `/Vault/${up.resultId}`;
    const blob = new Uint8Array(await new Response((await c.dav.download(blobPath)).body).arrayBuffer());
    blob[10]! ^= 1;
    const t = await c.e2ee.lock(root.ref.fileId, root.verified.inner.counter + 1);
    await c.dav.upload(blobPath, blob, { token: t });
    const { metadata, signature } = await c.e2ee.getMetadata(root.ref.fileId);
    await c.e2ee.updateMetadata(root.ref.fileId, metadata, signature, t);
    await c.e2ee.unlock(root.ref.fileId, t);
    const bad = await h['folder/download-begin']({
      viewId,
      path: '/Vault',
      id: up.resultId!,
      deliver: 'page',
    });
    const ended = await settle(bad.transferId);
    expect(ended.state).toBe('failed');
    expect(ended.message).toMatch(/changed|tamper|damaged|verif/i);
    expect(sinks.get(bad.transferId)).toMatchObject({ state: 'aborted', deliver: 'page' });
  }, 30_000);

  it('uploads a folder tree from flat paths; refuses escaping paths, duplicates and wrong sizes', async () => {
    const { viewId } = await svc.openView(origin, 1, '/Vault');
    const files = [
      { relPath: 'Trip/a.txt', body: 'alpha' },
      { relPath: 'Trip/Day 1/b.txt', body: 'bravo!' },
      { relPath: 'Trip/Day 1/c.txt', body: '' },
    ];
    const items = files.map((f) => ({
      relPath: f.relPath,
      size: utf8(f.body).length,
      mimetype: 'text/plain',
    }));
    for (const bad of ['../x', 'a//b', 'a/./b', '', 'a/..']) {
      expect(
        await kind(
          h['folder/upload-tree-begin']({
            viewId,
            path: '/Vault',
            items: [{ relPath: bad, size: 1, mimetype: '' }],
          }),
        ),
      ).toBe('format');
    }
    expect(
      await kind(
        h['folder/upload-tree-begin']({
          viewId,
          path: '/Vault',
          items: [items[0]!, { ...items[0]! }],
        }),
      ),
    ).toBe('conflict');
    const { transferId } = await h['folder/upload-tree-begin']({ viewId, path: '/Vault', items });
    const blobs = files.map((f) => new Blob([f.body]));
    expect(svc.attachTreeSources(transferId, blobs.slice(0, 2))).toBe(false);
    expect(svc.attachTreeSources(transferId, [blobs[1]!, blobs[0]!, blobs[2]!])).toBe(false);
    expect(svc.attachTreeSources(transferId, blobs)).toBe(true);
    expect(await settle(transferId)).toMatchObject({ state: 'done', name: 'Trip', bytes: 11, total: 11 });

    const top = await h['folder/open']({ viewId, path: null });
    const trip = top.entries.find((e) => e.name === 'Trip')!;
    expect(trip.kind).toBe('folder');
    const inTrip = await h['folder/open']({ viewId, path: `/Vault/${trip.id}` });
    expect(inTrip.entries.map((e) => e.name).sort()).toEqual(['Day 1', 'a.txt']);
    const day = inTrip.entries.find((e) => e.name === 'Day 1')!;
    const inDay = await h['folder/open']({ viewId, path: `/Vault/${trip.id}/${day.id}` });
    expect(inDay.entries.map((e) => [e.name, e.size]).sort()).toEqual([
      ['b.txt', 6],
      ['c.txt', 0],
    ]);
    const b = inDay.entries.find((e) => e.name === 'b.txt')!;
    const dl = await h['folder/download-begin']({
      viewId,
      path: `/Vault/${trip.id}/${day.id}`,
      id: b.id,
      deliver: 'save',
    });
    await settle(dl.transferId);
    expect(new TextDecoder().decode(concat(sinks.get(dl.transferId)!.parts))).toBe('bravo!');
  }, 30_000);

  it('copies files with fresh keys (next to the original as "(copy)") and folders with their tree', async () => {
    const { viewId } = await svc.openView(origin, 1, '/Vault');
    const top = await h['folder/open']({ viewId, path: null });
    const trip = top.entries.find((e) => e.name === 'Trip')!;
    const inTrip = await h['folder/open']({ viewId, path: `/Vault/${trip.id}` });
    const a = inTrip.entries.find((e) => e.name === 'a.txt')!;
    await h['folder/copy']({
      viewId,
      path: `/Vault/${trip.id}`,
      ids: [a.id],
      targetPath: `/Vault/${trip.id}`,
    });
    await h['folder/copy']({
      viewId,
      path: `/Vault/${trip.id}`,
      ids: [a.id],
      targetPath: `/Vault/${trip.id}`,
    });
    const after = await h['folder/open']({ viewId, path: `/Vault/${trip.id}` });
    expect(after.entries.map((e) => e.name).sort()).toEqual([
      'Day 1',
      'a (copy 2).txt',
      'a (copy).txt',
      'a.txt',
    ]);
    const copy = after.entries.find((e) => e.name === 'a (copy).txt')!;
    expect(copy.id).not.toBe(a.id);
    const dl = await h['folder/download-begin']({
      viewId,
      path: `/Vault/${trip.id}`,
      id: copy.id,
      deliver: 'save',
    });
    await settle(dl.transferId);
    expect(new TextDecoder().decode(concat(sinks.get(dl.transferId)!.parts))).toBe('alpha');
    // A folder copied to the root keeps its sub-tree; into itself is refused.
    const day = after.entries.find((e) => e.name === 'Day 1')!;
    expect(
      await kind(
        h['folder/copy']({
          viewId,
          path: `/Vault/${trip.id}`,
          ids: [day.id],
          targetPath: `/Vault/${trip.id}/${day.id}`,
        }),
      ),
    ).toBe('format');
    await h['folder/copy']({ viewId, path: `/Vault/${trip.id}`, ids: [day.id], targetPath: '/Vault' });
    const root = await h['folder/open']({ viewId, path: null });
    const dayCopy = root.entries.find((e) => e.name === 'Day 1')!;
    const inCopy = await h['folder/open']({ viewId, path: `/Vault/${dayCopy.id}` });
    expect(inCopy.entries.map((e) => e.name).sort()).toEqual(['b.txt', 'c.txt']);
  }, 30_000);

  it('cancels a waiting upload and drops an upload whose file never came', async () => {
    const { viewId } = await svc.openView(origin, 1, '/Vault');
    const a = await h['folder/upload-begin']({
      viewId,
      path: '/Vault',
      name: 'a.bin',
      size: 3,
      mimetype: '',
    });
    await h['folder/transfer-cancel']({ transferId: a.transferId });
    expect(svc.attachUploadSource(a.transferId, new Blob(['abc']))).toBe(false);
    const b = await h['folder/upload-begin']({
      viewId,
      path: '/Vault',
      name: 'b.bin',
      size: 3,
      mimetype: '',
    });
    // A source that never delivers a byte: the upload is surely running (lock held) when cancelled.
    let pulled = false;
    const stuck = {
      size: 3,
      stream: () =>
        new ReadableStream<Uint8Array>({
          pull: () => {
            pulled = true;
            return new Promise<void>(() => undefined);
          },
        }),
    };
    expect(svc.attachUploadSource(b.transferId, stuck)).toBe(true);
    const rootId = world.srv.control.fileIdOf('alice', '/Vault')!;
    const versions = world.srv.control.metadataHistory(rootId).length;
    for (let i = 0; i < 200 && !pulled; i++) await new Promise((r) => setTimeout(r, 10));
    expect(pulled).toBe(true);
    expect(world.srv.control.lockOf(rootId)).toBeDefined();
    await h['folder/transfer-cancel']({ transferId: b.transferId });
    expect(await settle(b.transferId)).toMatchObject({
      state: 'cancelled',
      message: expect.stringMatching(/cancel/i),
    });
    expect(world.srv.control.lockOf(rootId)).toBeUndefined();
    expect(world.srv.control.metadataHistory(rootId).length).toBe(versions);
    const listing = await h['folder/open']({ viewId, path: null });
    expect(listing.entries.map((e) => e.name)).not.toContain('b.bin');
    await h['folder/transfers-clear']({ viewId });
    expect((await h['folder/transfers']({ viewId })).transfers).toEqual([]);
  }, 30_000);

  it('deletes only after an approved confirmation', async () => {
    const { viewId } = await svc.openView(origin, 1, '/Vault');
    const before = await h['folder/open']({ viewId, path: null });
    const secret = before.entries.find((e) => e.name === 'secret.txt')!;
    const rejected = await h['folder/confirm-request']({
      viewId,
      path: '/Vault',
      action: 'delete',
      ids: [secret.id],
    });
    expect(await h['folder/confirm-get']({ confirmId: rejected.confirmId })).toMatchObject({
      count: 1,
      names: ['secret.txt'],
      folderName: 'Vault',
    });
    expect(await h['folder/confirm-answer']({ confirmId: rejected.confirmId, approve: false })).toEqual({
      state: 'rejected',
      message: '',
    });
    expect((await h['folder/open']({ viewId, path: null })).entries.some((e) => e.id === secret.id)).toBe(
      true,
    );

    const approved = await h['folder/confirm-request']({
      viewId,
      path: '/Vault',
      action: 'delete',
      ids: [secret.id],
    });
    expect(await h['folder/confirm-status']({ confirmId: approved.confirmId })).toEqual({
      state: 'pending',
      message: '',
    });
    expect(await h['folder/confirm-answer']({ confirmId: approved.confirmId, approve: true })).toEqual({
      state: 'done',
      message: '',
    });
    // A second answer does not run it again.
    expect(await h['folder/confirm-answer']({ confirmId: approved.confirmId, approve: true })).toEqual({
      state: 'done',
      message: '',
    });
    expect((await h['folder/open']({ viewId, path: null })).entries.some((e) => e.id === secret.id)).toBe(
      false,
    );
  }, 30_000);
});
