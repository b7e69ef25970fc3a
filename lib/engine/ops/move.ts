/**
 * §9.10 Move and copy inside one encrypted root. One lock on the nearest common ancestor P of source
 * folder A and target folder B covers both (the token is valid for the whole subtree).
 *
 * - File move: re-encrypting copy + staged delete (G-19): download, verify, re-encrypt with a fresh key and
 *   nonce, PUT into B (staged), DELETE from A (staged), PUT metadata of A and B, unlock. Every step is
 *   staged, so an abort restores the original state.
 * - Sub-folder move: server MOVE of the folder (its metadata stays valid: same root key). NOT rollback-safe
 *   (G-19): the source disappears at once and an abort deletes the staged destination. So the MOVE is the
 *   last DAV step, the metadata of B and A follow at once (retried once), and if they still fail the cycle
 *   is committed instead of aborted: the folder survives as an unlisted entry in B (see docs/operations.md).
 * - Copy: always re-encrypt with a fresh key (never server COPY, which would duplicate key + nonce).
 *   Only B is written, so B is locked; folders are copied level by level (one cycle per folder).
 */
import { fail, isCipherfoldError } from '../../errors';
import {
  newUuid32,
  putFile,
  putFolder,
  removeFile,
  removeFolder,
  type FileEntry,
  type RootDraft,
  type SubDraft,
  type Uuid32,
} from '../../protocol/metadata';
import { cycleDraft, writeDraft, type FolderDraft } from '../drafts';
import { checkName, type E2eeSession, type OpenedFolder } from '../folders';
import { withFolderLock, type LockCycle } from '../lock';
import { commonAncestor, isSameOrBelow, joinPath } from '../paths';
import { reencryptInto, type TransferOptions } from '../transfers';

interface Trio {
  p: OpenedFolder;
  a: OpenedFolder;
  b: OpenedFolder;
}

function sameRoot(a: OpenedFolder, b: OpenedFolder): void {
  if (a.root.ref.fileId !== b.root.ref.fileId) {
    throw fail(
      'unsupported',
      'Moving or copying between different encrypted folders is not supported (the server refuses it). Download the item and upload it into the other folder.',
    );
  }
}

function itemOf(f: OpenedFolder, id: Uuid32): { file: FileEntry } | { folder: string } {
  const file = f.verified.inner.files.get(id);
  if (file) return { file };
  const folder = f.verified.inner.folders.get(id);
  if (folder !== undefined) return { folder };
  throw fail('missing-file', 'This item is not in the folder any more. Reload the folder.');
}

async function openTrio(session: E2eeSession, a: OpenedFolder, b: OpenedFolder): Promise<Trio> {
  const pPath = commonAncestor(a.ref.path, b.ref.path);
  // Same root, so P is the root or a folder below it.
  const p = pPath === a.ref.path ? a : pPath === b.ref.path ? b : await session.open(pPath);
  return { p, a, b };
}

async function reopenTrio(session: E2eeSession, t: Trio): Promise<Trio> {
  const p = await session.reopen(t.p);
  const a = t.a.ref.fileId === t.p.ref.fileId ? p : await session.reopen(t.a);
  const b =
    t.b.ref.fileId === t.p.ref.fileId ? p : t.b.ref.fileId === t.a.ref.fileId ? a : await session.reopen(t.b);
  return { p, a, b };
}

/** Moves file or sub-folder `id` of `from` into `to` (same root). Returns the item's id in `to`. */
export async function moveEntry(
  session: E2eeSession,
  from: OpenedFolder,
  id: Uuid32,
  to: OpenedFolder,
  o: TransferOptions & { newName?: string } = {},
): Promise<Uuid32> {
  sameRoot(from, to);
  if (from.ref.fileId === to.ref.fileId) {
    throw fail('unsupported', 'The item is already in this folder. Use rename to change its name.');
  }
  const item = itemOf(from, id);
  if ('folder' in item && isSameOrBelow(to.ref.path, joinPath(from.ref.path, id))) {
    throw fail(
      'unsupported',
      'A folder cannot be moved into itself or one of its sub-folders. Choose another target.',
    );
  }
  const trio = await openTrio(session, from, to);
  const c = session.client;
  const { value } = await withFolderLock(c, {
    folderId: trio.p.ref.fileId,
    state: trio,
    counterOf: (t) => t.p.verified.inner.counter,
    reload: () => reopenTrio(session, trio),
    policy: session.options.lockPolicy,
    work: async (cycle, { a, b }) => {
      const it = itemOf(a, id);
      const name = o.newName ?? ('file' in it ? it.file.filename : it.folder);
      checkName(b, name);
      const rootKey = a.root.verified.metadataKey;
      let da = cycleDraft<RootDraft | SubDraft>(cycle, a.ref.fileId, a.verified);
      let db = cycleDraft<RootDraft | SubDraft>(cycle, b.ref.fileId, b.verified);
      if ('file' in it) {
        const newId = newUuid32();
        const entry = await reencryptInto(c, cycle.token, a, id, joinPath(b.ref.path, newId), o);
        cycle.staged(b.ref.fileId);
        await c.dav.delete(joinPath(a.ref.path, id), { token: cycle.token, skipTrashbin: true });
        cycle.staged(a.ref.fileId);
        db = putFile(db, newId, { ...entry, filename: name, mimetype: it.file.mimetype });
        da = removeFile(da, id);
        await writeDraft(c, cycle, b.ref.fileId, db, rootKey, session.signer);
        await writeDraft(c, cycle, a.ref.fileId, da, rootKey, session.signer);
        return newId;
      }
      // Sub-folder: server MOVE, last DAV step (G-19), metadata right after.
      await c.dav.move(joinPath(a.ref.path, id), joinPath(b.ref.path, id), { token: cycle.token });
      cycle.staged(b.ref.fileId);
      db = putFolder(db, id, name);
      da = removeFolder(da, id);
      await writeAfterMove(session, cycle, [
        [b, db],
        [a, da],
      ]);
      return id;
    },
  });
  return value;
}

/**
 * After a folder MOVE an abort would delete the moved folder (G-19). Write the metadata (one retry); if it
 * still fails, make sure B is touched and commit instead of aborting, then report the partial state.
 */
async function writeAfterMove(
  session: E2eeSession,
  cycle: LockCycle,
  writes: ReadonlyArray<readonly [OpenedFolder, FolderDraft]>,
): Promise<void> {
  const c = session.client;
  const done = new Set<string>();
  let last: unknown;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      for (const [f, d] of writes) {
        if (done.has(f.ref.fileId)) continue;
        await writeDraft(c, cycle, f.ref.fileId, d, f.root.verified.metadataKey, session.signer);
        done.add(f.ref.fileId);
      }
      return;
    } catch (e) {
      last = e;
    }
  }
  const [b] = writes[0]!;
  if (!done.has(b.ref.fileId)) {
    try {
      const { metadata, signature } = await c.e2ee.getMetadata(b.ref.fileId);
      await c.e2ee.updateMetadata(b.ref.fileId, metadata, signature, cycle.token);
    } catch {
      /* nothing more we can do: the rollback job will revert the locked folder only */
    }
  }
  cycle.commitOnFailure();
  throw fail(
    isCipherfoldError(last) ? last.kind : 'network',
    'The folder was moved on the server, but the folder lists could not be updated. Its content is safe but may show up as an unknown item in the target folder. Reload both folders and move it again if needed.',
    {
      cause: last,
      detail: 'move-folder: metadata write failed after MOVE (G-19), committed instead of aborted',
    },
  );
}

/** Copies file `id` (or a sub-folder tree) of `from` into `to` with fresh keys. Returns the new id. */
export async function copyEntry(
  session: E2eeSession,
  from: OpenedFolder,
  id: Uuid32,
  to: OpenedFolder,
  o: TransferOptions & { newName?: string } = {},
): Promise<Uuid32> {
  sameRoot(from, to);
  const item = itemOf(from, id);
  const name = o.newName ?? ('file' in item ? item.file.filename : item.folder);
  checkName(to, name);
  if ('folder' in item) return copyFolderTree(session, from, id, to, name, o);
  const [newId] = await copyFiles(session, from, [[id, name]], to, o);
  return newId!;
}

/** One lock cycle on `to`: re-encrypting copies of several files of `from`. Returns their new ids. */
async function copyFiles(
  session: E2eeSession,
  from: OpenedFolder,
  files: ReadonlyArray<readonly [Uuid32, string]>,
  to: OpenedFolder,
  o: TransferOptions,
): Promise<Uuid32[]> {
  if (files.length === 0) return [];
  const c = session.client;
  const { value } = await withFolderLock(c, {
    folderId: to.ref.fileId,
    state: { a: from, b: to },
    counterOf: (s) => s.b.verified.inner.counter,
    reload: async () => ({
      a: from.ref.fileId === to.ref.fileId ? await session.reopen(to) : await session.reopen(from),
      b: await session.reopen(to),
    }),
    policy: session.options.lockPolicy,
    work: async (cycle, { a, b }) => {
      let db = cycleDraft<RootDraft | SubDraft>(cycle, b.ref.fileId, b.verified);
      const ids: Uuid32[] = [];
      for (const [id, name] of files) {
        checkName(b, name);
        const src = a.verified.inner.files.get(id);
        if (!src)
          throw fail('missing-file', 'A file to copy is not in the folder any more. Reload the folder.');
        const newId = newUuid32();
        const entry = await reencryptInto(c, cycle.token, a, id, joinPath(b.ref.path, newId), o);
        cycle.staged(b.ref.fileId);
        db = putFile(db, newId, { ...entry, filename: name, mimetype: src.mimetype });
        ids.push(newId);
      }
      await writeDraft(c, cycle, b.ref.fileId, db, b.root.verified.metadataKey, session.signer);
      return ids;
    },
  });
  return value;
}

/** Folder copy, level by level: create the folder in `to`, copy its files (one cycle), recurse. */
async function copyFolderTree(
  session: E2eeSession,
  from: OpenedFolder,
  id: Uuid32,
  to: OpenedFolder,
  name: string,
  o: TransferOptions,
): Promise<Uuid32> {
  if (isSameOrBelow(to.ref.path, joinPath(from.ref.path, id))) {
    throw fail('unsupported', 'A folder cannot be copied into itself. Choose another target.');
  }
  const src = await session.open(joinPath(from.ref.path, id));
  const ref = await session.createFolder(to, name);
  const dst = await session.open(ref.path);
  const files = src.entries
    .filter((e) => e.kind === 'file' && !e.missing)
    .map((e) => [e.id, e.name] as const);
  await copyFiles(session, src, files, dst, o);
  let current = await session.reopen(dst);
  for (const e of src.entries) {
    if (e.kind !== 'folder' || e.missing) continue;
    await copyFolderTree(session, src, e.id, current, e.name, o);
    current = await session.reopen(current);
  }
  const newId = ref.path.split('/').pop();
  return newId as Uuid32;
}
