/**
 * The decrypted inner document (§6.4): tolerant validation into `InnerDocument`, and serialisation.
 *
 * Reading: unknown members ignored; `deleted` missing → false; `keyChecksums` missing → undefined (sub-folders);
 * `mimetype` missing → application/octet-stream; `nonce` or legacy `initializationVector`; folders stored as
 * `files` entries (httpd/unix-directory, inode/directory, empty mimetype) become folders. Malformed single
 * entries are skipped with a warning; a malformed document is a `metadata` error.
 */
import { fromBase64, toBase64 } from '../../crypto/bytes';
import { fail } from '../../errors';
import { hasMember, isObject, member, type JsonObject } from './json';
import {
  DEFAULT_MIMETYPE,
  LEGACY_FOLDER_MIMETYPES,
  isUuid32,
  warning,
  type FileEntry,
  type InnerDocument,
  type MetadataWarning,
  type Uuid32,
} from './types';

const BAD_INNER =
  'The decrypted folder metadata has an unexpected structure. It may be damaged or written by an incompatible client.';

function tryBase64(v: unknown): ReturnType<typeof fromBase64> | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    return fromBase64(v);
  } catch {
    return undefined;
  }
}

function parseCounter(o: JsonObject, warnings: MetadataWarning[]): number {
  if (!hasMember(o, 'counter') || member(o, 'counter') === null) {
    warnings.push(warning('missing-counter', 'The folder metadata has no counter; it was treated as 0.'));
    return 0;
  }
  const c = member(o, 'counter');
  if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 0) {
    throw fail('metadata', `${BAD_INNER} (The counter is not a non-negative integer.)`);
  }
  return c;
}

function parseKeyChecksums(o: JsonObject, warnings: MetadataWarning[]): string[] | undefined {
  const v = member(o, 'keyChecksums');
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw fail('metadata', `${BAD_INNER} (keyChecksums is not a list.)`);
  const out: string[] = [];
  for (const c of v) {
    if (typeof c === 'string') out.push(c);
    else warnings.push(warning('invalid-entry', 'A key checksum that is not text was ignored.'));
  }
  return out;
}

export type FileInfoResult =
  { kind: 'file'; entry: FileEntry } | { kind: 'folder'; name: string } | { kind: 'invalid'; reason: string };

/**
 * Reads one file-info object (a `files` member, a filedrop plaintext): a file, a legacy folder
 * (httpd/unix-directory, inode/directory, empty mimetype), or invalid.
 */
export function parseFileInfo(v: unknown): FileInfoResult {
  if (!isObject(v)) return { kind: 'invalid', reason: 'A file entry that is not an object was skipped.' };
  const filename = member(v, 'filename');
  const mimetypeRaw = member(v, 'mimetype');
  if (typeof filename !== 'string')
    return { kind: 'invalid', reason: 'A file entry without a name was skipped.' };
  if (mimetypeRaw !== undefined && mimetypeRaw !== null && typeof mimetypeRaw !== 'string') {
    return { kind: 'invalid', reason: 'A file entry with a malformed mimetype was skipped.' };
  }
  if (typeof mimetypeRaw === 'string' && LEGACY_FOLDER_MIMETYPES.includes(mimetypeRaw.trim().toLowerCase())) {
    return { kind: 'folder', name: filename };
  }
  const mimetype = typeof mimetypeRaw === 'string' ? mimetypeRaw : DEFAULT_MIMETYPE;
  const key = tryBase64(member(v, 'key'));
  // Desktop prefers the legacy member when present; do the same.
  const nonce = tryBase64(member(v, 'initializationVector')) ?? tryBase64(member(v, 'nonce'));
  if (!key || key.length !== 16 || !nonce || nonce.length === 0) {
    return { kind: 'invalid', reason: 'A file entry with a missing or malformed key or nonce was skipped.' };
  }
  const tag = tryBase64(member(v, 'authenticationTag'));
  return {
    kind: 'file',
    entry: { filename, mimetype, key, nonce, authenticationTag: tag && tag.length > 0 ? tag : undefined },
  };
}

function parseFile(
  id: Uuid32,
  v: unknown,
  files: Map<Uuid32, FileEntry>,
  folders: Map<Uuid32, string>,
  warnings: MetadataWarning[],
): void {
  const r = parseFileInfo(v);
  if (r.kind === 'invalid') warnings.push(warning('invalid-entry', r.reason));
  else if (r.kind === 'file') files.set(id, r.entry);
  else {
    if (!folders.has(id)) folders.set(id, r.name);
    warnings.push(
      warning(
        'legacy-folder-entry',
        'A folder stored as a file entry by an old client was read as a folder.',
      ),
    );
  }
}

/** Validates a parsed inner JSON value. */
export function parseInnerDocument(value: unknown): { inner: InnerDocument; warnings: MetadataWarning[] } {
  if (!isObject(value)) throw fail('metadata', `${BAD_INNER} (Not an object.)`);
  const warnings: MetadataWarning[] = [];
  const counter = parseCounter(value, warnings);
  const deletedRaw = member(value, 'deleted');
  if (deletedRaw !== undefined && deletedRaw !== null && typeof deletedRaw !== 'boolean') {
    throw fail('metadata', `${BAD_INNER} (The deleted flag is not a boolean.)`);
  }
  const deleted = deletedRaw === true;
  const keyChecksums = parseKeyChecksums(value, warnings);

  const folders = new Map<Uuid32, string>();
  const files = new Map<Uuid32, FileEntry>();
  for (const name of ['folders', 'files'] as const) {
    const m = member(value, name);
    // PHP turns an empty object into [] on re-encoding; treat any empty list (and null) as empty.
    if (m === undefined || m === null || (Array.isArray(m) && m.length === 0)) continue;
    if (!isObject(m)) throw fail('metadata', `${BAD_INNER} (${name} is not an object.)`);
    for (const [id, v] of Object.entries(m)) {
      if (!isUuid32(id)) {
        warnings.push(
          warning('invalid-entry', `An entry of ${name} whose id is not 32 hexadecimal digits was skipped.`),
        );
        continue;
      }
      if (name === 'folders') {
        if (typeof v === 'string') folders.set(id, v);
        else warnings.push(warning('invalid-entry', 'A folder entry whose name is not text was skipped.'));
      } else {
        parseFile(id, v, files, folders, warnings);
      }
    }
  }
  return { inner: { counter, deleted, keyChecksums, folders, files }, warnings };
}

export interface InnerFileJson {
  filename: string;
  mimetype: string;
  key: string;
  nonce: string;
  authenticationTag?: string;
}

export interface InnerJson {
  counter: number;
  deleted: boolean;
  keyChecksums?: string[];
  folders: Record<string, string>;
  files: Record<string, InnerFileJson>;
}

export function fileEntryToJson(f: FileEntry): InnerFileJson {
  const out: InnerFileJson = {
    filename: f.filename,
    mimetype: f.mimetype || DEFAULT_MIMETYPE,
    key: toBase64(f.key),
    nonce: toBase64(f.nonce),
  };
  if (f.authenticationTag) out.authenticationTag = toBase64(f.authenticationTag);
  return out;
}

/** Serialisable form; `keyChecksums` written only when defined (roots). Folders always go into `folders`. */
export function innerToJson(inner: InnerDocument): InnerJson {
  // Null-prototype maps so an id can never be mistaken for an inherited member.
  const folders = Object.create(null) as Record<string, string>;
  for (const [id, name] of inner.folders) folders[id] = name;
  const files = Object.create(null) as Record<string, InnerFileJson>;
  for (const [id, f] of inner.files) files[id] = fileEntryToJson(f);
  const out: InnerJson = { counter: inner.counter, deleted: inner.deleted, folders, files };
  if (inner.keyChecksums !== undefined) out.keyChecksums = [...inner.keyChecksums];
  return out;
}
