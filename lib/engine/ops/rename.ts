/** §9.8 Rename a file or sub-folder: metadata only (lock F → PUT meta-data F → unlock). */
import { fail } from '../../errors';
import { putFile, putFolder, type RootDraft, type SubDraft, type Uuid32 } from '../../protocol/metadata';
import { cycleDraft, writeDraft } from '../drafts';
import type { E2eeSession, OpenedFolder } from '../folders';
import { checkClearName } from '../paths';

export async function renameEntry(
  session: E2eeSession,
  folder: OpenedFolder,
  id: Uuid32,
  newName: string,
): Promise<void> {
  checkClearName(newName);
  await session.lockFolder(folder, async (cycle, f) => {
    const inner = f.verified.inner;
    const file = inner.files.get(id);
    const folderName = inner.folders.get(id);
    if (file === undefined && folderName === undefined) {
      throw fail('missing-file', 'This item is not in the folder any more. Reload the folder.');
    }
    if (f.entries.some((e) => e.name === newName && e.id !== id)) {
      throw fail('conflict', 'An item with this name already exists here. Choose another name.');
    }
    const base = cycleDraft<RootDraft | SubDraft>(cycle, f.ref.fileId, f.verified);
    const draft = file ? putFile(base, id, { ...file, filename: newName }) : putFolder(base, id, newName);
    await writeDraft(session.client, cycle, f.ref.fileId, draft, f.root.verified.metadataKey, session.signer);
  });
}
