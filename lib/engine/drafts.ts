/** Editable drafts of opened folders and writing them under a lock (one place for serialise + PUT). */
import type { Bytes } from '../crypto/bytes';
import type { FileId, NextcloudClient } from '../nextcloud';
import {
  nextCounter,
  serialiseRoot,
  serialiseSub,
  withCounter,
  type RootDraft,
  type Signer,
  type SubDraft,
  type VerifiedRoot,
  type VerifiedSub,
} from '../protocol/metadata';
import type { LockCycle } from './lock';

export type FolderDraft = RootDraft | SubDraft;

/** The editable state of a verified document (counter unchanged). */
export function draftOf(v: VerifiedRoot | VerifiedSub): FolderDraft {
  return v.kind === 'v2-root'
    ? {
        kind: 'v2-root',
        version: v.version,
        users: v.users,
        metadataKey: v.metadataKey,
        inner: v.inner,
        filedrop: v.filedrop,
      }
    : { kind: 'v2-sub', version: v.version, inner: v.inner };
}

/**
 * Counter to write for a folder in this cycle: the lock counter for the locked folder (§6.7), otherwise
 * its own inner counter + 1 (sub-folder counters are only checked by clients).
 */
export function counterFor(cycle: LockCycle, fileId: FileId, v: VerifiedRoot | VerifiedSub): number {
  return fileId === cycle.folderId ? cycle.counter : nextCounter(v.inner.counter);
}

/** Draft of `v` with the counter this cycle must write. */
export function cycleDraft<T extends FolderDraft>(
  cycle: LockCycle,
  fileId: FileId,
  v: VerifiedRoot | VerifiedSub,
): T {
  return withCounter(draftOf(v), counterFor(cycle, fileId, v)) as T;
}

/** Serialises (signs) a draft and PUTs it under the cycle's token; records the folder as touched. */
export async function writeDraft(
  client: NextcloudClient,
  cycle: LockCycle,
  fileId: FileId,
  draft: FolderDraft,
  rootMetadataKey: Bytes,
  signer: Signer,
): Promise<void> {
  const out =
    draft.kind === 'v2-root'
      ? await serialiseRoot(draft, signer)
      : await serialiseSub(draft, rootMetadataKey, signer);
  await client.e2ee.updateMetadata(fileId, out.text, out.signature, cycle.token);
  cycle.touched(fileId);
}
