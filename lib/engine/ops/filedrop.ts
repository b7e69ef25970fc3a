/**
 * §9.16 Migrate filedrop entries of a root into `files` (nothing moves on WebDAV): decrypt what is
 * addressed to us, lock the root, apply, PUT, unlock. Entries we cannot read stay in `filedrop` (G-26).
 */
import { fail } from '../../errors';
import {
  applyFiledropMigration,
  decryptFiledrop,
  type MetadataWarning,
  type RootDraft,
  type Uuid32,
} from '../../protocol/metadata';
import { cycleDraft, writeDraft } from '../drafts';
import type { E2eeSession, OpenedFolder } from '../folders';

export interface FiledropMigration {
  readonly applied: readonly Uuid32[];
  /** Entries left in `filedrop` (for other members, or unreadable). */
  readonly kept: number;
  readonly warnings: readonly MetadataWarning[];
}

export async function migrateFiledrop(session: E2eeSession, root: OpenedFolder): Promise<FiledropMigration> {
  const v = root.verified;
  if (v.kind !== 'v2-root' || root.ref.fileId !== root.root.ref.fileId) {
    throw fail('unsupported', 'Only a topmost encrypted folder has filedrop entries. Open the top folder.');
  }
  const self = { userId: session.keys.userId, key: session.keys.key };
  const first = await decryptFiledrop(v.filedrop, self);
  if (first.migrated.size === 0) return { applied: [], kept: first.kept.size, warnings: first.warnings };
  const { value } = await session.lockFolder(root, async (cycle, f) => {
    if (f.verified.kind !== 'v2-root') throw fail('metadata', 'The top folder changed its kind. Reload it.');
    const result = await decryptFiledrop(f.verified.filedrop, self);
    const base = cycleDraft<RootDraft>(cycle, f.ref.fileId, f.verified);
    const out = applyFiledropMigration(base, result);
    if (out.applied.length > 0) {
      await writeDraft(session.client, cycle, f.ref.fileId, out.draft, out.draft.metadataKey, session.signer);
    }
    return {
      applied: out.applied,
      kept: out.draft.filedrop.size,
      warnings: [...result.warnings, ...out.warnings],
    };
  });
  return value;
}
