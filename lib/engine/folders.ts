/**
 * Opening and basic writes on end-to-end encrypted folders (protocol §9.4–9.11) for one unlocked user: open
 * and verify a folder (walking up to its topmost encrypted folder), create roots and sub-folders, upload and
 * download small files in memory. Every write runs through `withFolderLock` (lock.ts): lock → payload writes
 * → metadata of every touched folder under the same token → unlock, abort on failure. Further operations
 * (rename, move, copy, delete, filedrop migration, batch/tree upload) live in `ops/`, streaming transfers in
 * `transfers.ts`.
 */
import { type Bytes } from '../crypto/bytes';
import { type DavEntry, type FileId, type NextcloudClient } from '../nextcloud';
import { fail, isCipherfoldError } from '../errors';
import {
  createRootDraft,
  createSubDraft,
  isUuid32,
  newUuid32,
  putFile,
  putFolder,
  serialiseRoot,
  serialiseSub,
  verifyRootMetadata,
  verifySubMetadata,
  type FileEntry,
  type RootDraft,
  type Signer,
  type SubDraft,
  type UserId,
  type Uuid32,
  type VerifiedRoot,
  type VerifiedSub,
} from '../protocol/metadata';
import { cycleDraft, writeDraft } from './drafts';
import { withFolderLock, type LockCycle, type LockPolicy, type LockedResult } from './lock';
import { checkClearName, joinPath, splitPath } from './paths';
import { decryptFilePayload, encryptFilePayload } from './payload-adapter';
import type { UserKeys } from './keys';
import type { TrustStore } from './trust-store';

export interface FolderRef {
  /** Server-side (WebDAV) path below the user's files root, e.g. "/Secret/3f…a1". */
  readonly path: string;
  readonly fileId: FileId;
}

export type ListingEntry =
  | {
      readonly kind: 'file';
      readonly id: Uuid32;
      readonly name: string;
      readonly mimetype: string;
      readonly size: number | undefined;
      readonly lastModified: Date | undefined;
      readonly entry: FileEntry;
      /** Listed in metadata but absent on the server (possible deletion attack, §10.1.9). */
      readonly missing: boolean;
    }
  | {
      readonly kind: 'folder';
      readonly id: Uuid32;
      readonly name: string;
      readonly fileId: FileId | undefined;
      readonly lastModified: Date | undefined;
      readonly missing: boolean;
    };

export interface OpenedRoot {
  readonly ref: FolderRef;
  /** Clear name of the topmost encrypted folder (its WebDAV name). */
  readonly name: string;
  readonly verified: VerifiedRoot;
  /** The root is a share received from another user (DAV permission "S"): leaving it only unshares. */
  readonly receivedShare: boolean;
}

export interface OpenedFolder {
  readonly ref: FolderRef;
  readonly root: OpenedRoot;
  /** The root itself when `ref` is the root. */
  readonly verified: VerifiedRoot | VerifiedSub;
  /** Clear names from the root down to this folder (root name first). */
  readonly clearPath: readonly string[];
  readonly entries: readonly ListingEntry[];
  /** Server entries that are neither in metadata nor pending filedrop entries (orphans). */
  readonly unknownEntries: number;
}

export interface SessionOptions {
  /** Retry rules for folder locks (tests inject a fast `sleep`). */
  lockPolicy?: LockPolicy;
}

export class E2eeSession {
  constructor(
    readonly client: NextcloudClient,
    readonly keys: UserKeys,
    readonly store: TrustStore,
    readonly options: SessionOptions = {},
  ) {}

  get signer(): Signer {
    return { key: this.keys.key, certificatePem: this.keys.certificatePem };
  }

  /**
   * One lock cycle on `folder` (lock.ts) whose `work` gets the freshly verified folder: after a counter
   * conflict the folder is re-opened and re-verified before the next attempt.
   */
  lockFolder<T>(
    folder: OpenedFolder,
    work: (cycle: LockCycle, folder: OpenedFolder) => Promise<T>,
    policy?: LockPolicy,
  ): Promise<LockedResult<T>> {
    return withFolderLock(this.client, {
      folderId: folder.ref.fileId,
      state: folder,
      counterOf: (f) => f.verified.inner.counter,
      reload: () => this.reopen(folder),
      work,
      policy: policy ?? this.options.lockPolicy,
    });
  }

  // ---------------------------------------------------------------- reading

  /** Finds the topmost encrypted folder containing `path` (§6.10). */
  async findRoot(
    path: string,
  ): Promise<{ ref: FolderRef; name: string; below: string[]; receivedShare: boolean }> {
    const segments = splitPath(path);
    let current = '';
    for (let i = 0; i < segments.length; i++) {
      current = joinPath(current || '/', segments[i]!);
      const [entry] = await this.client.dav.propfind(current, { depth: 0 });
      if (entry?.isEncrypted) {
        if (entry.fileId === undefined)
          throw fail('server', 'The server did not report a folder id. Try again later.');
        return {
          ref: { path: current, fileId: entry.fileId },
          name: segments[i]!,
          below: segments.slice(i + 1),
          receivedShare: (entry.permissions ?? '').includes('S'),
        };
      }
    }
    throw fail(
      'unsupported',
      'This folder is not end-to-end encrypted. Cipherfold only handles encrypted folders.',
    );
  }

  async openRoot(ref: FolderRef, name: string, receivedShare = false): Promise<OpenedRoot> {
    const { metadata, signature } = await this.client.e2ee.getMetadata(ref.fileId);
    const known = await this.store.getFolderState(ref.fileId);
    const verified = await verifyRootMetadata({
      document: metadata,
      signature,
      self: { userId: this.keys.userId, key: this.keys.key },
      serverPublicKeyPem: this.keys.serverPublicKeyPem,
      pins: await this.store.getPins(),
      known,
    });
    await this.store.addPins(verified.newPins);
    await this.store.setFolderState(ref.fileId, verified.state);
    return { ref, name, verified, receivedShare };
  }

  private async openSub(ref: FolderRef, root: OpenedRoot): Promise<VerifiedSub> {
    const { metadata, signature } = await this.client.e2ee.getMetadata(ref.fileId);
    const verified = await verifySubMetadata({
      document: metadata,
      signature,
      root: root.verified,
      known: await this.store.getFolderState(ref.fileId),
    });
    await this.store.setFolderState(ref.fileId, verified.state);
    return verified;
  }

  /** Opens (verifies and lists) the encrypted folder at a server path, root or sub-folder. */
  async open(path: string): Promise<OpenedFolder> {
    const found = await this.findRoot(path);
    const root = await this.openRoot(found.ref, found.name, found.receivedShare);
    let ref = root.ref;
    let verified: VerifiedRoot | VerifiedSub = root.verified;
    const clearPath = [root.name];
    for (const seg of found.below) {
      const clear = isUuid32(seg) ? verified.inner.folders.get(seg) : undefined;
      if (clear === undefined) {
        throw fail(
          'missing-file',
          "This folder is not listed in its parent folder's metadata. It may have been deleted or moved. Go back to the parent folder.",
        );
      }
      const childPath = joinPath(ref.path, seg);
      const [entry] = await this.client.dav.propfind(childPath, { depth: 0 });
      if (!entry?.fileId)
        throw fail(
          'missing-file',
          'A folder listed in the metadata is missing on the server. Go back to the parent folder.',
        );
      ref = { path: childPath, fileId: entry.fileId };
      verified = await this.openSub(ref, root);
      clearPath.push(clear);
    }
    return this.list(ref, root, verified, clearPath);
  }

  /** Reloads an opened folder. */
  reopen(folder: OpenedFolder): Promise<OpenedFolder> {
    return this.open(folder.ref.path);
  }

  private async list(
    ref: FolderRef,
    root: OpenedRoot,
    verified: VerifiedRoot | VerifiedSub,
    clearPath: string[],
  ): Promise<OpenedFolder> {
    const dav = await this.client.dav.propfind(ref.path, { depth: 1 });
    const children = new Map<string, DavEntry>();
    for (const e of dav.slice(1)) children.set(e.name.toLowerCase(), e);
    const entries: ListingEntry[] = [];
    for (const [id, name] of verified.inner.folders) {
      const e = children.get(id.toLowerCase());
      children.delete(id.toLowerCase());
      entries.push({
        kind: 'folder',
        id,
        name,
        fileId: e?.fileId,
        lastModified: e?.lastModified,
        missing: !e,
      });
    }
    for (const [id, entry] of verified.inner.files) {
      const e = children.get(id.toLowerCase());
      children.delete(id.toLowerCase());
      entries.push({
        kind: 'file',
        id,
        name: entry.filename,
        mimetype: entry.mimetype,
        size: e?.size === undefined ? undefined : Math.max(0, e.size - 16),
        lastModified: e?.lastModified,
        entry,
        missing: !e,
      });
    }
    const filedrop = verified.kind === 'v2-root' ? verified.filedrop : new Map();
    let unknown = 0;
    for (const name of children.keys()) if (!filedrop.has(name)) unknown++;
    return { ref, root, verified, clearPath, entries, unknownEntries: unknown };
  }

  /** Downloads and decrypts one file (one-shot; the streaming path is used for large files by callers). */
  async downloadFile(
    folder: OpenedFolder,
    id: Uuid32,
  ): Promise<{ name: string; mimetype: string; data: Bytes }> {
    const entry = folder.verified.inner.files.get(id);
    if (!entry) throw fail('missing-file', 'This file is not in the folder any more. Reload the folder.');
    const dl = await this.client.dav.download(joinPath(folder.ref.path, id));
    const blob = new Uint8Array(await new Response(dl.body).arrayBuffer()) as Bytes;
    const data = await decryptFilePayload(blob, entry.key, entry.nonce);
    return { name: entry.filename, mimetype: entry.mimetype, data };
  }

  // ---------------------------------------------------------------- writing

  /**
   * §9.4: makes `parentPath/name` an encrypted root. Creates the folder, or takes an existing EMPTY plain
   * folder; refuses a folder with content (the server cannot flag it, and its files would stay unencrypted).
   */
  async createRoot(parentPath: string, name: string): Promise<FolderRef> {
    checkClearName(name);
    const path = joinPath(parentPath, name);
    let fileId: FileId | undefined;
    let existing: DavEntry[] | undefined;
    try {
      existing = await this.client.dav.propfind(path, { depth: 1 });
    } catch (e) {
      if (!isCipherfoldError(e, 'not-found')) throw e;
    }
    if (existing !== undefined) {
      const self = existing[0];
      if (!self?.isFolder)
        throw fail('conflict', 'A file with this name already exists here. Choose another name.');
      if (existing.length > 1) throw notEmpty();
      if (self.isEncrypted && self.fileId !== undefined && (await this.hasMetadata(self.fileId)))
        throw fail('conflict', 'This folder is already end-to-end encrypted. Open it instead.');
      // else: plain and empty, or flagged by an earlier attempt that stopped before its metadata: finish it.
      fileId = self.fileId;
    } else {
      fileId = await this.client.dav.mkcol(path);
      if (fileId === undefined) fileId = (await this.client.dav.propfind(path, { depth: 0 }))[0]?.fileId;
    }
    if (fileId === undefined)
      throw fail('server', "The server did not report the folder's id. Nothing was encrypted; try again.");
    try {
      await this.client.e2ee.setEncrypted(fileId);
    } catch (e) {
      // 404 "Folder not found": the folder got content meanwhile (or is shared, which cannot be flagged).
      if (isCipherfoldError(e, 'not-found')) throw notEmpty(e);
      throw e;
    }
    const id = fileId;
    // No metadata exists yet, so the server records no counter for this cycle (§9.4): lock with 1.
    await withFolderLock(this.client, {
      folderId: id,
      state: 0,
      counterOf: (c) => c,
      reload: async () => 0,
      policy: this.options.lockPolicy,
      work: async (cycle) => {
        const draft = await createRootDraft(
          { userId: this.keys.userId as UserId, certificatePem: this.keys.certificatePem },
          { counter: cycle.counter },
        );
        const out = await serialiseRoot(draft, this.signer);
        await this.client.e2ee.createMetadata(id, out.text, out.signature, cycle.token);
        cycle.touched(id);
      },
    });
    return { path, fileId: id };
  }

  private async hasMetadata(fileId: FileId): Promise<boolean> {
    try {
      await this.client.e2ee.getMetadata(fileId);
      return true;
    } catch (e) {
      if (isCipherfoldError(e, 'not-found')) return false;
      throw e;
    }
  }

  /** §9.5: new sub-folder `name` in `folder`. */
  async createFolder(folder: OpenedFolder, name: string): Promise<FolderRef> {
    checkName(folder, name);
    const { value } = await this.lockFolder(folder, async (cycle, f) => {
      checkName(f, name);
      const created = await this.mkSubFolder(cycle, f, name);
      const draft = putFolder(
        cycleDraft<RootDraft | SubDraft>(cycle, f.ref.fileId, f.verified),
        created.id,
        name,
      );
      await writeDraft(this.client, cycle, f.ref.fileId, draft, f.root.verified.metadataKey, this.signer);
      return created.ref;
    });
    return value;
  }

  /**
   * §9.5 steps 4–6 inside a running cycle: MKCOL (staged), flag (G-16), POST the empty sub-folder metadata.
   * The caller adds `folders[id] = name` to the parent and writes the parent's metadata.
   */
  async mkSubFolder(
    cycle: LockCycle,
    parent: OpenedFolder,
    name: string,
  ): Promise<{ id: Uuid32; ref: FolderRef }> {
    checkClearName(name);
    const id = newUuid32();
    const path = joinPath(parent.ref.path, id);
    const fileId = await this.client.dav.mkcol(path, { token: cycle.token });
    cycle.staged(parent.ref.fileId);
    if (fileId === undefined)
      throw fail('server', "The server did not report the new folder's id. Nothing was changed.");
    await this.client.e2ee.setEncrypted(fileId);
    const sub = await serialiseSub(createSubDraft(), parent.root.verified.metadataKey, this.signer);
    await this.client.e2ee.createMetadata(fileId, sub.text, sub.signature, cycle.token);
    cycle.touched(fileId);
    return { id, ref: { path, fileId } };
  }

  /** §9.6: uploads a new file held in memory (one lock cycle). Large files: `transfers.uploadStream`. */
  async uploadFile(
    folder: OpenedFolder,
    name: string,
    data: Bytes,
    mimetype = 'application/octet-stream',
  ): Promise<Uuid32> {
    checkName(folder, name);
    const id = newUuid32();
    const payload = await encryptFilePayload(data);
    await this.lockFolder(folder, async (cycle, f) => {
      checkName(f, name);
      await this.client.dav.upload(joinPath(f.ref.path, id), payload.blob, { token: cycle.token });
      cycle.staged(f.ref.fileId);
      const draft = putFile(cycleDraft<RootDraft | SubDraft>(cycle, f.ref.fileId, f.verified), id, {
        filename: name,
        mimetype,
        key: payload.key,
        nonce: payload.nonce,
        authenticationTag: payload.tag,
      });
      await writeDraft(this.client, cycle, f.ref.fileId, draft, f.root.verified.metadataKey, this.signer);
    });
    return id;
  }
}

function notEmpty(cause?: unknown): Error {
  return fail(
    'unsupported',
    'This folder is not empty, so it cannot be made end-to-end encrypted (the server only encrypts empty folders, and existing files would stay readable by the server). Nothing was changed. Create a new folder and upload the files into it.',
    cause === undefined ? undefined : { cause },
  );
}

/** A clear name that is allowed and not yet used in `folder`. */
export function checkName(folder: OpenedFolder, name: string): void {
  checkClearName(name);
  if (folder.entries.some((e) => e.name === name)) {
    throw fail('conflict', 'An item with this name already exists here. Choose another name.');
  }
}
