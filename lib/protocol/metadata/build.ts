/**
 * Writing 2.x metadata (§6, §9.4–9.16): drafts (plain state) for root and sub-folder documents, edits,
 * key rotation on every membership change, and serialisation + signing.
 *
 * Rules enforced here: version "2.0" unless an `s:` user is present or the root already says "2.1" (never
 * downgraded); users order kept, new users appended; key rotation re-wraps a fresh key for every user and
 * appends its checksum (never removes one); the outer document has exactly `metadata`, `users` (roots),
 * `version`, and `filedrop` only when unmigrated entries remain (G-26); folders go into `folders`; ids are
 * 32 lowercase hex digits with at least one letter (G-34). Counters are set by the caller (§6.7).
 */
import { randomBytes, toHex, type Bytes } from '../../crypto/bytes';
import type { RsaPrivateKey } from '../../crypto/rsa';
import { fail } from '../../errors';
import { signedContentCandidates, type Json } from '../canonical-json';
import { signDetached } from '../cms';
import { checksumListContains, keyChecksum } from './key-checksum';
import { encryptMetadataKeyFor } from './metadata-key';
import { encryptInnerDocument, checkMetadataKey, type EncryptOptions } from './v2-crypto';
import {
  isShareUserId,
  type FileEntry,
  type InnerDocument,
  type MetadataUser,
  type RawFiledropEntry,
  type UserId,
  type Uuid32,
  type V2Version,
} from './types';

/** Plain state of a root document, ready to be edited and serialised. */
export interface RootDraft {
  readonly kind: 'v2-root';
  readonly version: V2Version;
  readonly users: readonly MetadataUser[];
  readonly metadataKey: Bytes;
  readonly inner: InnerDocument;
  /** Unmigrated filedrop entries, kept as stored. */
  readonly filedrop: ReadonlyMap<string, RawFiledropEntry>;
}

/** Plain state of a sub-folder document (encrypted with the root's key). */
export interface SubDraft {
  readonly kind: 'v2-sub';
  readonly version: V2Version;
  readonly inner: InnerDocument;
}

export interface UserCertificate {
  readonly userId: UserId;
  /** Kept byte-identical in `users[]` (covered by the signature). */
  readonly certificatePem: string;
}

export interface Signer {
  readonly key: RsaPrivateKey;
  readonly certificatePem: string;
}

export interface SerialisedMetadata {
  /** The JSON text to upload (`metaData`). */
  readonly text: string;
  /** base64 CMS signature for `X-NC-E2EE-SIGNATURE`. */
  readonly signature: string;
}

/** A new 32-hex id (lowercase) with at least one a–f letter (G-34). */
export function newUuid32(): Uuid32 {
  for (;;) {
    const id = toHex(randomBytes(16));
    if (/[a-f]/.test(id)) return id as Uuid32;
  }
}

export function newMetadataKey(): Bytes {
  return randomBytes(16);
}

function emptyInner(counter: number, keyChecksums: string[] | undefined): InnerDocument {
  return { counter, deleted: false, keyChecksums, folders: new Map(), files: new Map() };
}

function versionFor(current: V2Version, users: readonly MetadataUser[]): V2Version {
  return current === '2.1' || users.some((u) => isShareUserId(u.userId)) ? '2.1' : '2.0';
}

/** §9.4 step 4: a new root with one user, a fresh key, its checksum, counter 1 (default). */
export async function createRootDraft(
  owner: UserCertificate,
  options: { counter?: number } = {},
): Promise<RootDraft> {
  const metadataKey = newMetadataKey();
  const users: MetadataUser[] = [
    {
      userId: owner.userId,
      certificate: owner.certificatePem,
      encryptedMetadataKey: await encryptMetadataKeyFor(owner.certificatePem, metadataKey),
    },
  ];
  return {
    kind: 'v2-root',
    version: versionFor('2.0', users),
    users,
    metadataKey,
    inner: emptyInner(options.counter ?? 1, [await keyChecksum(metadataKey)]),
    filedrop: new Map(),
  };
}

/** §9.5 step 6: a new sub-folder, version 2.0 (even under a 2.1 root), no keyChecksums member. */
export function createSubDraft(options: { counter?: number } = {}): SubDraft {
  return { kind: 'v2-sub', version: '2.0', inner: emptyInner(options.counter ?? 1, undefined) };
}

// ---- inner edits (pure) ----

export function withCounter<T extends RootDraft | SubDraft>(draft: T, counter: number): T {
  if (!Number.isSafeInteger(counter) || counter < 0) {
    throw fail(
      'metadata',
      'A folder metadata counter must be a non-negative integer. This is a bug; please report it.',
    );
  }
  return { ...draft, inner: { ...draft.inner, counter } };
}

function editInner<T extends RootDraft | SubDraft>(
  draft: T,
  f: (inner: InnerDocument) => Partial<InnerDocument>,
): T {
  return { ...draft, inner: { ...draft.inner, ...f(draft.inner) } };
}

export function putFile<T extends RootDraft | SubDraft>(draft: T, id: Uuid32, entry: FileEntry): T {
  if (entry.key.length !== 16 || entry.nonce.length === 0) {
    throw fail('metadata', 'A file key must have 16 bytes and a nonce. This is a bug; please report it.');
  }
  if (draft.inner.folders.has(id)) {
    throw fail('metadata', 'A file cannot take the id of a folder. This is a bug; please report it.');
  }
  return editInner(draft, (i) => ({ files: new Map(i.files).set(id, entry) }));
}

export function removeFile<T extends RootDraft | SubDraft>(draft: T, id: Uuid32): T {
  return editInner(draft, (i) => {
    const files = new Map(i.files);
    files.delete(id);
    return { files };
  });
}

export function putFolder<T extends RootDraft | SubDraft>(draft: T, id: Uuid32, name: string): T {
  if (draft.inner.files.has(id)) {
    throw fail('metadata', 'A folder cannot take the id of a file. This is a bug; please report it.');
  }
  return editInner(draft, (i) => ({ folders: new Map(i.folders).set(id, name) }));
}

export function removeFolder<T extends RootDraft | SubDraft>(draft: T, id: Uuid32): T {
  return editInner(draft, (i) => {
    const folders = new Map(i.folders);
    folders.delete(id);
    return { folders };
  });
}

/** §9.9: the topmost folder is being deleted: `deleted: true`, empty maps, no filedrop. */
export function markRootDeleted(draft: RootDraft): RootDraft {
  return {
    ...draft,
    filedrop: new Map(),
    inner: { ...draft.inner, deleted: true, files: new Map(), folders: new Map() },
  };
}

// ---- membership and key rotation (§9.12, §9.13, §9.14) ----

/**
 * New metadata key for everyone in `users`: re-wrapped per user (order kept), checksum appended to the
 * history (nothing removed). Sub-folders must then be re-encrypted with the new key (`serialiseSub`).
 */
export async function rotateMetadataKey(
  draft: RootDraft,
  users: readonly UserCertificate[] = draft.users.map((u) => ({
    userId: u.userId,
    certificatePem: u.certificate,
  })),
  newKey: Bytes = newMetadataKey(),
): Promise<RootDraft> {
  checkMetadataKey(newKey);
  if (users.length === 0) {
    throw fail('unsupported', 'A shared folder must keep at least one member. Delete the folder instead.');
  }
  const wrapped: MetadataUser[] = [];
  for (const u of users) {
    wrapped.push({
      userId: u.userId,
      certificate: u.certificatePem,
      encryptedMetadataKey: await encryptMetadataKeyFor(u.certificatePem, newKey),
    });
  }
  const sum = await keyChecksum(newKey);
  const history = [...(draft.inner.keyChecksums ?? [])];
  if (!checksumListContains(history, sum)) history.push(sum);
  return {
    ...draft,
    version: versionFor(draft.version, wrapped),
    users: wrapped,
    metadataKey: newKey,
    inner: { ...draft.inner, keyChecksums: history },
  };
}

/** §9.12: adds a member (appended) and rotates the key. `s:` users upgrade the document to 2.1 (§6.9). */
export async function addUser(draft: RootDraft, user: UserCertificate): Promise<RootDraft> {
  if (draft.users.some((u) => u.userId === user.userId)) {
    throw fail('unsupported', 'This user is already a member of the folder. Nothing was changed.');
  }
  const users = draft.users.map((u) => ({ userId: u.userId, certificatePem: u.certificate }));
  users.push({ userId: user.userId, certificatePem: user.certificatePem });
  return rotateMetadataKey(draft, users);
}

/** §9.13 / G-24: removes a member (or an `s:` link-share user) and rotates the key. Version stays. */
export async function removeUser(draft: RootDraft, userId: UserId): Promise<RootDraft> {
  if (!draft.users.some((u) => u.userId === userId)) {
    throw fail('unsupported', 'This user is not a member of the folder. Nothing was changed.');
  }
  const users = draft.users
    .filter((u) => u.userId !== userId)
    .map((u) => ({ userId: u.userId, certificatePem: u.certificate }));
  return rotateMetadataKey(draft, users);
}

// ---- serialisation + signature ----

function filedropJson(filedrop: ReadonlyMap<string, RawFiledropEntry>): Record<string, Json> {
  const out = Object.create(null) as Record<string, Json>;
  for (const [id, e] of filedrop) out[id] = e as Json;
  return out;
}

async function signAndSerialise(
  doc: { [k: string]: Json },
  signer: Signer,
  signingTime: Date | undefined,
): Promise<SerialisedMetadata> {
  const content = signedContentCandidates(doc)[0];
  if (!content) throw fail('metadata', 'Nothing to sign. This is a bug; please report it.');
  const signature = await signDetached(content, signer, signingTime);
  return { text: JSON.stringify(doc), signature };
}

export interface SerialiseOptions extends EncryptOptions {
  signingTime?: Date;
}

/** Encrypts, builds the outer document (members in sorted order) and signs it. */
export async function serialiseRoot(
  draft: RootDraft,
  signer: Signer,
  options: SerialiseOptions = {},
): Promise<SerialisedMetadata> {
  if (draft.users.length === 0)
    throw fail('metadata', 'A root folder needs at least one member. This is a bug.');
  if (draft.inner.keyChecksums === undefined || draft.inner.keyChecksums.length === 0) {
    throw fail('metadata', 'A root folder needs its key checksums. This is a bug; please report it.');
  }
  const m = await encryptInnerDocument(draft.inner, draft.metadataKey, options);
  const doc: { [k: string]: Json } = {};
  if (draft.filedrop.size > 0) doc['filedrop'] = filedropJson(draft.filedrop);
  doc['metadata'] = { authenticationTag: m.authenticationTag, ciphertext: m.ciphertext, nonce: m.nonce };
  doc['users'] = draft.users.map((u) => ({
    certificate: u.certificate,
    encryptedMetadataKey: u.encryptedMetadataKey,
    userId: u.userId,
  }));
  doc['version'] = versionFor(draft.version, draft.users);
  return signAndSerialise(doc, signer, options.signingTime);
}

/** Encrypts a sub-folder document with the ROOT's current metadata key and signs it. */
export async function serialiseSub(
  draft: SubDraft,
  rootMetadataKey: Bytes,
  signer: Signer,
  options: SerialiseOptions = {},
): Promise<SerialisedMetadata> {
  const m = await encryptInnerDocument(draft.inner, rootMetadataKey, options);
  const doc: { [k: string]: Json } = {
    metadata: { authenticationTag: m.authenticationTag, ciphertext: m.ciphertext, nonce: m.nonce },
    version: draft.version,
  };
  return signAndSerialise(doc, signer, options.signingTime);
}
