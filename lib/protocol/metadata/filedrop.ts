/**
 * Filedrop entries (§6.6, §9.16): decrypt the entries addressed to us and migrate them into `files`.
 *
 * Per entry: our `users[]` entry → RSA-OAEP-decrypt the 16-byte filedrop key → gzip+AES-GCM plaintext → one
 * file-info object. Entries we cannot decrypt (not addressed to us, damaged, `chunked: true`, not a file) are
 * kept unchanged so other members can still migrate them (G-26). An entry whose id already names a file or
 * folder is never applied (filedrop is unsigned; anyone with the upload link could otherwise replace a file).
 */
import { fromUtf8, type Bytes } from '../../crypto/bytes';
import type { RsaPrivateKey } from '../../crypto/rsa';
import { isCipherfoldError } from '../../errors';
import type { RootDraft } from './build';
import { parseFileInfo } from './inner';
import { isObject, member, parseJsonText } from './json';
import { unwrapWithRsa } from './metadata-key';
import { decryptGzipGcm } from './v2-crypto';
import {
  isUuid32,
  warning,
  type FileEntry,
  type MetadataWarning,
  type RawFiledropEntry,
  type Uuid32,
} from './types';

/** A filedrop entry plaintext is one small JSON object. */
const FILEDROP_GUNZIP_LIMIT = 1024 * 1024;

export interface FiledropDecryption {
  /** Entries decrypted successfully, keyed by the uuid of the uploaded blob. */
  readonly migrated: ReadonlyMap<Uuid32, FileEntry>;
  /** Entries left in `filedrop` (as stored). */
  readonly kept: ReadonlyMap<string, RawFiledropEntry>;
  readonly warnings: readonly MetadataWarning[];
}

async function decryptEntry(
  entry: RawFiledropEntry,
  self: { userId: string; key: RsaPrivateKey },
): Promise<FileEntry | string> {
  if (member(entry, 'chunked') === true)
    return 'A chunked filedrop entry (unsupported format) was left as it is.';
  const users = member(entry, 'users');
  if (!Array.isArray(users)) return 'A filedrop entry without recipients was left as it is.';
  const mine = users.find((u: unknown) => isObject(u) && member(u, 'userId') === self.userId) as unknown;
  const wrapped = isObject(mine) ? member(mine, 'encryptedFiledropKey') : undefined;
  if (typeof wrapped !== 'string')
    return 'A filedrop entry not addressed to you was left for the other members.';
  const ciphertext = member(entry, 'ciphertext');
  const nonce = member(entry, 'nonce');
  const tag = member(entry, 'authenticationTag');
  if (typeof ciphertext !== 'string' || (nonce !== undefined && typeof nonce !== 'string')) {
    return 'A malformed filedrop entry was left as it is.';
  }
  try {
    const { plaintext: fdKey } = await unwrapWithRsa(self.key, wrapped, { allowPkcs1v15: false });
    if (fdKey.length !== 16) return 'A filedrop entry with a malformed key was left as it is.';
    const { plaintext } = await decryptGzipGcm(
      {
        ciphertext,
        nonce: nonce as string | undefined,
        authenticationTag: typeof tag === 'string' ? tag : undefined,
      },
      fdKey as Bytes,
      FILEDROP_GUNZIP_LIMIT,
    );
    const info = parseFileInfo(parseJsonText(fromUtf8(plaintext), 'A filedrop entry'));
    if (info.kind !== 'file') return 'A filedrop entry that does not describe a file was left as it is.';
    return info.entry;
  } catch (e) {
    if (!isCipherfoldError(e)) throw e;
    return 'A filedrop entry that could not be decrypted was left as it is.';
  }
}

/** Decrypts what we can; never throws for a bad entry (reported as a warning and kept). */
export async function decryptFiledrop(
  filedrop: ReadonlyMap<string, RawFiledropEntry>,
  self: { userId: string; key: RsaPrivateKey },
): Promise<FiledropDecryption> {
  const migrated = new Map<Uuid32, FileEntry>();
  const kept = new Map<string, RawFiledropEntry>();
  const warnings: MetadataWarning[] = [];
  for (const [id, entry] of filedrop) {
    if (!isUuid32(id)) {
      kept.set(id, entry);
      warnings.push(
        warning('filedrop-unreadable', 'A filedrop entry with a malformed id was left as it is.'),
      );
      continue;
    }
    const r = await decryptEntry(entry, self);
    if (typeof r === 'string') {
      kept.set(id, entry);
      warnings.push(warning('filedrop-unreadable', r));
    } else {
      migrated.set(id, r);
    }
  }
  return { migrated, kept, warnings };
}

/**
 * §9.16 step 2: adds the decrypted entries to the root's `files` and leaves only the others in `filedrop`.
 * The caller sets the counter and uploads under a lock.
 */
export function applyFiledropMigration(
  draft: RootDraft,
  result: FiledropDecryption,
): { draft: RootDraft; applied: Uuid32[]; warnings: MetadataWarning[] } {
  const files = new Map(draft.inner.files);
  const kept = new Map(result.kept);
  const applied: Uuid32[] = [];
  const warnings: MetadataWarning[] = [];
  for (const [id, entry] of result.migrated) {
    if (files.has(id) || draft.inner.folders.has(id)) {
      const raw = draft.filedrop.get(id);
      if (raw) kept.set(id, raw);
      warnings.push(
        warning(
          'filedrop-conflict',
          'A filedrop entry reused the id of an existing item and was not applied.',
        ),
      );
      continue;
    }
    files.set(id, entry);
    applied.push(id);
  }
  return { draft: { ...draft, filedrop: kept, inner: { ...draft.inner, files } }, applied, warnings };
}
