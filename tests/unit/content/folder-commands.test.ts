/**
 * The engine side of the folder view against the stand-in: what the content script may learn (booleans,
 * ids), view confinement to a server-verified encrypted root, chunked transfers and the confirmation gate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBase64, utf8 } from '../../../lib/crypto/bytes';
import { FolderCommandService, type FolderHandlers } from '../../../lib/engine/folder-commands';
import { isCipherfoldError } from '../../../lib/errors';
import { contentChannel, folderChannel, VAULT_LOCKED_MESSAGE } from '../../../lib/messages';
import { makeWorld, type World } from '../engine/helpers';

let world: World;
let svc: FolderCommandService;
let h: FolderHandlers;
let origin: string;

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
  svc = new FolderCommandService({ sessionFor: (o) => (o === origin ? session : undefined) });
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

  it('uploads in chunks, refuses more bytes than announced, downloads the same bytes', async () => {
    const { viewId } = await svc.openView(origin, 1, '/Vault');
    const data = utf8('x'.repeat(3000));
    const { transferId } = await h['folder/upload-begin']({
      viewId,
      path: '/Vault',
      name: 'x.txt',
      size: 3000,
      mimetype: 'text/plain',
    });
    await h['folder/upload-chunk']({ transferId, data: toBase64(data.subarray(0, 1000)) });
    await h['folder/upload-chunk']({ transferId, data: toBase64(data.subarray(1000)) });
    const { id } = await h['folder/upload-finish']({ transferId });
    const dl = await h['folder/download-begin']({ viewId, path: '/Vault', id });
    expect(dl).toMatchObject({ name: 'x.txt', size: 3000 });
    const chunk = await h['folder/download-chunk']({ transferId: dl.transferId, offset: 0 });
    expect(chunk.done).toBe(true);
    expect(Buffer.from(chunk.data, 'base64').toString()).toBe('x'.repeat(3000));
    expect(await kind(h['folder/download-chunk']({ transferId: dl.transferId, offset: 0 }))).toBe(
      'not-found',
    );

    const over = await h['folder/upload-begin']({
      viewId,
      path: '/Vault',
      name: 'y.txt',
      size: 2,
      mimetype: '',
    });
    expect(
      await kind(h['folder/upload-chunk']({ transferId: over.transferId, data: toBase64(utf8('abc')) })),
    ).toBe('format');
    expect(await kind(h['folder/upload-finish']({ transferId: over.transferId }))).toBe('not-found');
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
