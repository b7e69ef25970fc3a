/**
 * Batch uploads: many files under one lock (§9.6 "several files may be uploaded under one lock"), and a
 * folder tree (sub-folders created and flagged, G-16, one lock cycle per folder level).
 *
 * Files whose blob exceeds the chunk threshold are uploaded in their own cycle by `uploadStream` (chunked
 * upload is not staged on NC 31, so each such file gets a cycle of its own and its metadata right after).
 * A tree upload is not atomic as a whole: each level is consistent on its own; a failure leaves the levels
 * done so far (re-run with the remaining items).
 */
import { fail } from '../../errors';
import {
  newUuid32,
  putFile,
  putFolder,
  type RootDraft,
  type SubDraft,
  type Uuid32,
} from '../../protocol/metadata';
import { cycleDraft, writeDraft } from '../drafts';
import { checkName, type E2eeSession, type FolderRef, type OpenedFolder } from '../folders';
import { joinPath } from '../paths';
import { payloadBlobSize } from '../payload-adapter';
import {
  DEFAULT_CHUNK_THRESHOLD,
  putEncrypted,
  uploadStream,
  type PlainSource,
  type UploadStreamOptions,
} from '../transfers';

export type TreeItem =
  | { readonly kind: 'file'; readonly source: PlainSource }
  | { readonly kind: 'folder'; readonly name: string; readonly children: readonly TreeItem[] };

export interface TreeUploadResult {
  readonly folders: FolderRef[];
  readonly files: Uuid32[];
  /**
   * Sub-folders the server did not flag as encrypted (NC 31 ignores `PUT encrypted/{id}` from sharees):
   * their metadata is valid, but the server does not enforce tokens or stage writes inside them.
   */
  readonly unflagged: FolderRef[];
}

function checkUnique(names: readonly string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n))
      throw fail('conflict', 'Two items to upload have the same name. Rename one and try again.');
    seen.add(n);
  }
}

function isLarge(s: PlainSource, o: UploadStreamOptions): boolean {
  return payloadBlobSize(s.size) > (o.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD);
}

/** Uploads several files into `folder`: small ones under one lock, large ones one cycle each. */
export async function uploadFiles(
  session: E2eeSession,
  folder: OpenedFolder,
  sources: readonly PlainSource[],
  o: UploadStreamOptions = {},
): Promise<Uuid32[]> {
  const r = await uploadLevel(session, folder, sources, [], o);
  return r.files;
}

async function uploadLevel(
  session: E2eeSession,
  folder: OpenedFolder,
  sources: readonly PlainSource[],
  folderNames: readonly string[],
  o: UploadStreamOptions,
): Promise<{ files: Uuid32[]; folders: FolderRef[] }> {
  const names = [...sources.map((s) => s.name), ...folderNames];
  checkUnique(names);
  for (const n of names) checkName(folder, n);
  const small = sources.filter((s) => !isLarge(s, o));
  const large = sources.filter((s) => isLarge(s, o));
  const files: Uuid32[] = [];
  const folders: FolderRef[] = [];
  if (small.length > 0 || folderNames.length > 0) {
    const c = session.client;
    const { value } = await session.lockFolder(folder, async (cycle, f) => {
      for (const n of names) checkName(f, n);
      let draft = cycleDraft<RootDraft | SubDraft>(cycle, f.ref.fileId, f.verified);
      const made: FolderRef[] = [];
      for (const name of folderNames) {
        const sub = await session.mkSubFolder(cycle, f, name);
        draft = putFolder(draft, sub.id, name);
        made.push(sub.ref);
      }
      const ids: Uuid32[] = [];
      for (const s of small) {
        const id = newUuid32();
        const entry = await putEncrypted(c, cycle.token, joinPath(f.ref.path, id), s, {
          ...o,
          chunked: false,
        });
        cycle.staged(f.ref.fileId);
        draft = putFile(draft, id, entry);
        ids.push(id);
      }
      await writeDraft(c, cycle, f.ref.fileId, draft, f.root.verified.metadataKey, session.signer);
      return { ids, made };
    });
    files.push(...value.ids);
    folders.push(...value.made);
  }
  let current = folder;
  for (const s of large) {
    current = await session.reopen(current);
    files.push(await uploadStream(session, current, s, o));
  }
  return { files, folders };
}

/** Uploads a tree of folders and files into `folder`. */
export async function uploadTree(
  session: E2eeSession,
  folder: OpenedFolder,
  items: readonly TreeItem[],
  o: UploadStreamOptions = {},
): Promise<TreeUploadResult> {
  const out: TreeUploadResult = { folders: [], files: [], unflagged: [] };
  await uploadTreeInto(session, folder, items, o, out);
  return out;
}

async function uploadTreeInto(
  session: E2eeSession,
  folder: OpenedFolder,
  items: readonly TreeItem[],
  o: UploadStreamOptions,
  out: TreeUploadResult,
): Promise<void> {
  const sources = items.flatMap((i) => (i.kind === 'file' ? [i.source] : []));
  const subs = items.flatMap((i) => (i.kind === 'folder' ? [i] : []));
  const r = await uploadLevel(
    session,
    folder,
    sources,
    subs.map((s) => s.name),
    o,
  );
  out.files.push(...r.files);
  out.folders.push(...r.folders);
  for (let i = 0; i < subs.length; i++) {
    const ref = r.folders[i]!;
    const [entry] = await session.client.dav.propfind(ref.path, { depth: 0 });
    if (!entry?.isEncrypted) out.unflagged.push(ref);
    if (subs[i]!.children.length > 0) {
      await uploadTreeInto(session, await session.open(ref.path), subs[i]!.children, o, out);
    }
  }
}
