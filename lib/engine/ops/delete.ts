/**
 * §9.9 Delete files and sub-folders (one lock on the parent), and delete or leave a root.
 * Sub-folder: DELETE meta-data/{S} → DAV DELETE (X-NC-Skip-Trashbin) → remove from parent → PUT parent.
 * All staged: an abort restores everything. Root (owner): `deleted: true`, emptied, PUT, DAV DELETE,
 * unlock. Root received as a share (G-25): never write metadata; DAV DELETE of the mount only unshares.
 */
import { fail, isCipherfoldError } from '../../errors';
import {
  markRootDeleted,
  removeFile,
  removeFolder,
  type RootDraft,
  type SubDraft,
  type Uuid32,
} from '../../protocol/metadata';
import { cycleDraft, writeDraft } from '../drafts';
import type { E2eeSession, OpenedFolder } from '../folders';
import { UnlockFailedError, withFolderLock } from '../lock';
import { joinPath } from '../paths';

export async function deleteEntries(
  session: E2eeSession,
  folder: OpenedFolder,
  ids: readonly Uuid32[],
): Promise<void> {
  if (ids.length === 0) return;
  const c = session.client;
  await session.lockFolder(folder, async (cycle, f) => {
    let draft = cycleDraft<RootDraft | SubDraft>(cycle, f.ref.fileId, f.verified);
    for (const id of ids) {
      const listed = f.entries.find((e) => e.id === id);
      if (!listed)
        throw fail('missing-file', 'An item to delete is not in the folder any more. Reload the folder.');
      if (listed.kind === 'folder') {
        if (listed.fileId !== undefined) {
          await ignoreNotFound(c.e2ee.deleteMetadata(listed.fileId, cycle.token));
          cycle.touched(listed.fileId);
        }
        draft = removeFolder(draft, id);
      } else draft = removeFile(draft, id);
      if (!listed.missing) {
        await ignoreNotFound(
          c.dav.delete(joinPath(f.ref.path, id), { token: cycle.token, skipTrashbin: true }),
        );
        cycle.staged(f.ref.fileId);
      }
    }
    await writeDraft(c, cycle, f.ref.fileId, draft, f.root.verified.metadataKey, session.signer);
  });
}

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (!isCipherfoldError(e, 'not-found')) throw e;
  }
}

export type DeleteRootResult = { readonly action: 'deleted' } | { readonly action: 'left-share' };

/** Deletes an encrypted root you own, or leaves (unshares) a root shared with you. */
export async function deleteRoot(session: E2eeSession, root: OpenedFolder): Promise<DeleteRootResult> {
  if (root.ref.fileId !== root.root.ref.fileId || root.verified.kind !== 'v2-root') {
    throw fail(
      'unsupported',
      'Only a topmost encrypted folder can be deleted this way. Delete sub-folders from their parent.',
    );
  }
  if (root.root.receivedShare) {
    await leaveShare(session, root);
    return { action: 'left-share' };
  }
  const c = session.client;
  await session.lockFolder(root, async (cycle, f) => {
    const draft = markRootDeleted(cycleDraft<RootDraft>(cycle, f.ref.fileId, f.verified));
    await writeDraft(c, cycle, f.ref.fileId, draft, f.root.verified.metadataKey, session.signer);
    await c.dav.delete(f.ref.path, { token: cycle.token, skipTrashbin: true });
    cycle.staged(f.ref.fileId);
  });
  return { action: 'deleted' };
}

/**
 * G-25: a sharee must not write `deleted: true` (the owner's folder still exists). DAV DELETE of the mount
 * point only removes the share for this user. Servers that demand a token for it get one (lock, DELETE
 * under the token, unlock; the unlock may fail once the mount is gone, which is fine).
 */
async function leaveShare(session: E2eeSession, root: OpenedFolder): Promise<void> {
  const c = session.client;
  try {
    await c.dav.delete(root.ref.path);
    return;
  } catch (e) {
    if (!isCipherfoldError(e, 'permission') && !isCipherfoldError(e, 'locked')) throw e;
  }
  await withFolderLock(c, {
    folderId: root.ref.fileId,
    state: root,
    counterOf: (f) => f.verified.inner.counter,
    reload: () => session.reopen(root),
    policy: session.options.lockPolicy,
    work: async (cycle) => {
      await c.dav.delete(root.ref.path, { token: cycle.token });
    },
  }).catch((e: unknown) => {
    if (!(e instanceof UnlockFailedError)) throw e;
  });
}
