/**
 * Operations on end-to-end encrypted folders (protocol §9.4–9.11) for one unlocked user: open and verify
 * a folder (walking up to its topmost encrypted folder), create roots and sub-folders, upload and download
 * files. Every write follows lock → write payload → write metadata of every touched folder under the same
 * token → unlock, and aborts the lock (`abort=true`) on any failure so the server rolls the staging back.
 */
import { type Bytes } from '../crypto/bytes';
import { fail } from '../errors';
import { type DavEntry, type FileId, type LockToken, type NextcloudClient } from '../nextcloud';
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
  withCounter,
  type FileEntry,
  type RootDraft,
  type SubDraft,
  type UserId,
  type Uuid32,
  type VerifiedRoot,
  type VerifiedSub,
} from '../protocol/metadata';
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

function joinPath(parent: string, name: string): string {
  return (parent.endsWith('/') ? parent : parent + '/') + name;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

export class E2eeSession {
  constructor(
    readonly client: NextcloudClient,
    readonly keys: UserKeys,
    readonly store: TrustStore,
  ) {}

  private get signer() {
    return { key: this.keys.key, certificatePem: this.keys.certificatePem };
  }

  // ---------------------------------------------------------------- reading

  /** Finds the topmost encrypted folder containing `path` (§6.10). */
  async findRoot(path: string): Promise<{ ref: FolderRef; name: string; below: string[] }> {
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
        };
      }
    }
    throw fail(
      'unsupported',
      'This folder is not end-to-end encrypted. Cipherfold only handles encrypted folders.',
    );
  }

  async openRoot(ref: FolderRef, name: string): Promise<OpenedRoot> {
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
    return { ref, name, verified };
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
    const root = await this.openRoot(found.ref, found.name);
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

  /** §9.4: creates an encrypted root folder `name` inside the plain folder `parentPath`. */
  async createRoot(parentPath: string, name: string): Promise<FolderRef> {
    const path = joinPath(parentPath, name);
    let fileId = await this.client.dav.mkcol(path);
    if (fileId === undefined) fileId = (await this.client.dav.propfind(path, { depth: 0 }))[0]?.fileId;
    if (fileId === undefined)
      throw fail('server', "The server did not report the new folder's id. Try again.");
    await this.client.e2ee.setEncrypted(fileId);
    const token = await this.client.e2ee.lock(fileId, 1);
    await this.guarded(fileId, token, async () => {
      const draft = await createRootDraft({
        userId: this.keys.userId as UserId,
        certificatePem: this.keys.certificatePem,
      });
      const out = await serialiseRoot(draft, this.signer);
      await this.client.e2ee.createMetadata(fileId, out.text, out.signature, token);
    });
    return { path, fileId };
  }

  /** §9.5: new sub-folder `name` in `folder`. */
  async createFolder(folder: OpenedFolder, name: string): Promise<FolderRef> {
    this.checkName(folder, name);
    const id = newUuid32();
    const path = joinPath(folder.ref.path, id);
    let fileId: FileId | undefined;
    await this.writeFolder(folder, async (token, draft) => {
      fileId = await this.client.dav.mkcol(path, { token });
      if (fileId === undefined)
        throw fail('server', "The server did not report the new folder's id. Nothing was changed.");
      await this.client.e2ee.setEncrypted(fileId);
      const sub = await serialiseSub(createSubDraft(), folder.root.verified.metadataKey, this.signer);
      await this.client.e2ee.createMetadata(fileId, sub.text, sub.signature, token);
      return putFolder(draft, id, name);
    });
    return { path, fileId: fileId! };
  }

  /** §9.6: uploads a new file (one-shot encryption). */
  async uploadFile(
    folder: OpenedFolder,
    name: string,
    data: Bytes,
    mimetype = 'application/octet-stream',
  ): Promise<Uuid32> {
    this.checkName(folder, name);
    const id = newUuid32();
    const payload = await encryptFilePayload(data);
    await this.writeFolder(folder, async (token, draft) => {
      await this.client.dav.upload(joinPath(folder.ref.path, id), payload.blob, { token });
      return putFile(draft, id, {
        filename: name,
        mimetype,
        key: payload.key,
        nonce: payload.nonce,
        authenticationTag: payload.tag,
      });
    });
    return id;
  }

  private checkName(folder: OpenedFolder, name: string): void {
    if (name === '' || name === '.' || name === '..' || name.includes('/')) {
      throw fail('format', 'This name is not allowed. Use a name without "/" that is not "." or "..".');
    }
    if (folder.entries.some((e) => e.name === name)) {
      throw fail('conflict', `An item with this name already exists here. Choose another name.`);
    }
  }

  /**
   * Locks `folder` with counter = current + 1, runs `edit` (DAV writes under the token, returning the
   * edited draft), writes the folder's metadata and unlocks; aborts the lock on failure (§9.17).
   */
  private async writeFolder<T extends RootDraft | SubDraft>(
    folder: OpenedFolder,
    edit: (token: LockToken, draft: T) => Promise<T>,
  ): Promise<void> {
    const v = folder.verified;
    const counter = v.inner.counter + 1;
    const token = await this.client.e2ee.lock(folder.ref.fileId, counter);
    await this.guarded(folder.ref.fileId, token, async () => {
      const base = (
        v.kind === 'v2-root'
          ? {
              kind: 'v2-root',
              version: v.version,
              users: v.users,
              metadataKey: v.metadataKey,
              inner: v.inner,
              filedrop: v.filedrop,
            }
          : { kind: 'v2-sub', version: v.version, inner: v.inner }
      ) as T;
      const draft = await edit(token, withCounter(base, counter));
      const out =
        draft.kind === 'v2-root'
          ? await serialiseRoot(draft, this.signer)
          : await serialiseSub(draft, folder.root.verified.metadataKey, this.signer);
      await this.client.e2ee.updateMetadata(folder.ref.fileId, out.text, out.signature, token);
    });
  }

  private async guarded(folderId: FileId, token: LockToken, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (e) {
      await this.client.e2ee.unlock(folderId, token, { abort: true }).catch(() => undefined);
      throw e;
    }
    await this.client.e2ee.unlock(folderId, token);
  }
}
