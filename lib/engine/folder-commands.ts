/**
 * Engine-side handlers of the folder view (`folder/*`) and of the content script's questions
 * (`engine/is-encrypted-folder`, `engine/open-view`, `engine/encrypted-children`): they translate messages
 * into `E2eeSession` calls. Pure TypeScript (no browser APIs): the engine host wires it in.
 *
 * Trust rules kept here:
 * - A view is created only for a folder the SERVER confirms to be end-to-end encrypted (PROPFIND with the
 *   E2EE header, never the page DOM). The view remembers its server origin (from the verified sender) and
 *   the path of its encrypted root; every later call is confined to that root and re-verified (`open`).
 * - The content-script questions answer booleans and server file ids only, never names or contents.
 * - Destructive actions (delete) run only after `confirmAnswer(…, true)`, which the background accepts
 *   only from confirm.html (extension chrome outside the page).
 */
import { toBase64 } from '../crypto/bytes';
import { fail, isCipherfoldError } from '../errors';
import {
  VAULT_LOCKED_MESSAGE,
  type ConfirmAction,
  type ConfirmDetails,
  type ConfirmState,
  type DownloadDelivery,
  type FolderCommands,
  type FolderEntryInfo,
  type FolderListing,
  type TreeUploadItem,
} from '../messages/folder';
import type { Uuid32 } from '../protocol/metadata';
import type { E2eeSession, OpenedFolder } from './folders';
import { copyEntry, deleteEntries, moveEntry, renameEntry, uploadTree } from './ops';
import { buildTree, treeSegments } from './tree-items';
import { isSameOrBelow, joinPath, splitPath } from './paths';
import { TransferManager } from './transfer-manager';
import { downloadTo, meter, pump, sharedMeter, uploadStream, type DownloadSink } from './transfers';
import { zipStream } from './zip-folder';

/** The account service contract this module needs (lib/engine/account-service.ts). */
export interface SessionSource {
  sessionFor(origin: string): E2eeSession | undefined;
}

interface View {
  origin: string;
  tabId: number;
  /** Server path of the encrypted root. */
  rootPath: string;
  /** The folder the page asked for (the view starts there). */
  startPath: string;
  /** Server file id → server path of folders this view has listed (for page hints). */
  folderIds: Map<string, string>;
  lastUsed: number;
}

/** An upload announced by `folder/upload-begin`, waiting for its file (`attachUploadSource`). */
interface PendingUpload {
  viewId: string;
  path: string;
  name: string;
  size: number;
  mimetype: string;
  created: number;
}

/** A folder tree announced by `folder/upload-tree-begin`, waiting for its files. */
interface PendingTree {
  viewId: string;
  path: string;
  items: TreeUploadItem[];
  created: number;
}

/** A file's bytes as the engine host received them (a Blob: read once, as a stream). */
export interface UploadSource {
  readonly size: number;
  stream(): ReadableStream<Uint8Array>;
}

/** What a verified download is, for the host's sink. */
export interface DownloadTarget {
  transferId: string;
  name: string;
  mimetype: string;
  /** Plaintext size when known (single files), null for zips. */
  size: number | null;
  deliver: DownloadDelivery;
}

/**
 * Where the host puts a download: `write` gets unverified plaintext, `close` is called only after the tag
 * verified and must resolve once the file was handed over (saved, delivered); `abort` discards.
 */
export type DownloadSinkFactory = (target: DownloadTarget) => DownloadSink;

interface Confirmation {
  viewId: string;
  path: string;
  action: ConfirmAction;
  ids: Uuid32[];
  details: ConfirmDetails;
  state: ConfirmState;
  message: string;
  created: number;
}

export interface FolderCommandOptions {
  now?: () => number;
  randomId?: () => string;
  /** Where verified downloads go; without one, downloads answer `unsupported`. */
  sinkFor?: DownloadSinkFactory;
  /** Blobs above this size use chunked upload v2 (default lib/engine/transfers: 256 MiB). */
  chunkThreshold?: number;
}

const MAX_VIEWS = 64;
/** An announced upload whose file did not arrive in this time is dropped. */
const PENDING_UPLOAD_TTL_MS = 2 * 60_000;
const CONFIRM_TTL_MS = 5 * 60_000;

function defaultRandomId(): string {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(24));
  return toBase64(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function entryInfo(e: OpenedFolder['entries'][number]): FolderEntryInfo {
  return {
    kind: e.kind,
    id: e.id,
    name: e.name,
    size: e.kind === 'file' && e.size !== undefined ? e.size : null,
    mimetype: e.kind === 'file' ? e.mimetype : 'httpd/unix-directory',
    mtime: e.lastModified ? e.lastModified.getTime() : null,
    missing: e.missing,
    fileId: e.kind === 'folder' && e.fileId !== undefined ? String(e.fileId) : null,
  };
}

type Handler<C extends keyof FolderCommands> = (
  payload: FolderCommands[C]['payload'],
) => Promise<FolderCommands[C]['result']>;
export type FolderHandlers = { [C in keyof FolderCommands]: Handler<C> };

export class FolderCommandService {
  private readonly views = new Map<string, View>();
  private readonly pendingUploads = new Map<string, PendingUpload>();
  private readonly pendingTrees = new Map<string, PendingTree>();
  readonly transfers: TransferManager;
  private readonly sinkFor: DownloadSinkFactory | undefined;
  private readonly chunkThreshold: number | undefined;
  private readonly confirms = new Map<string, Confirmation>();
  /** Origins whose page showed the server's own in-browser E2EE code. */
  private readonly serverE2eePages = new Set<string>();
  private readonly now: () => number;
  private readonly randomId: () => string;

  constructor(
    private readonly sessions: SessionSource,
    options: FolderCommandOptions = {},
  ) {
    this.now = options.now ?? (() => Date.now());
    this.randomId = options.randomId ?? defaultRandomId;
    this.sinkFor = options.sinkFor;
    this.chunkThreshold = options.chunkThreshold;
    this.transfers = new TransferManager({ now: this.now, randomId: this.randomId });
  }

  /**
   * The file of an upload announced with `folder/upload-begin` arrived (the host got it from an extension
   * page over its transfer channel): starts the upload in the engine. Returns false when the id is unknown
   * or the size differs from the announced one (nothing is uploaded then).
   */
  attachUploadSource(transferId: string, source: UploadSource): boolean {
    this.sweep();
    const u = this.pendingUploads.get(transferId);
    if (!u || source.size !== u.size) return false;
    this.pendingUploads.delete(transferId);
    this.transfers.start(
      { kind: 'upload', name: u.name, total: u.size, viewId: u.viewId },
      async ({ signal, onProgress }) => {
        const { v, folder } = await this.openIn(u.viewId, u.path);
        const id = await uploadStream(
          this.session(v.origin),
          folder,
          {
            name: u.name,
            mimetype: u.mimetype || 'application/octet-stream',
            size: u.size,
            stream: () => source.stream(),
          },
          {
            signal,
            onProgress,
            ...(this.chunkThreshold !== undefined ? { chunkThreshold: this.chunkThreshold } : {}),
          },
        );
        return { resultId: id };
      },
      transferId,
    );
    return true;
  }

  /**
   * The files of a tree announced with `folder/upload-tree-begin` arrived, in the announced order: starts
   * the tree upload (sub-folders created and flagged, one lock cycle per folder). False when the id is
   * unknown or any count or size differs (nothing is uploaded then).
   */
  attachTreeSources(transferId: string, files: readonly UploadSource[]): boolean {
    this.sweep();
    const t = this.pendingTrees.get(transferId);
    if (!t || files.length !== t.items.length || t.items.some((item, i) => files[i]!.size !== item.size))
      return false;
    this.pendingTrees.delete(transferId);
    const total = t.items.reduce((n, i) => n + i.size, 0);
    const tops = new Set(t.items.map((i) => i.relPath.split('/')[0]!));
    const label = tops.size === 1 ? [...tops][0]! : `${t.items.length} files`;
    this.transfers.start(
      { kind: 'upload', name: label, total, viewId: t.viewId },
      async ({ signal, onProgress }) => {
        const counted = sharedMeter(total, { signal, onProgress });
        const tree = buildTree(t.items, (i) => ({
          name: treeSegments(t.items[i]!.relPath).pop()!,
          mimetype: t.items[i]!.mimetype || 'application/octet-stream',
          size: t.items[i]!.size,
          stream: () => counted(files[i]!.stream()),
        }));
        const { v, folder } = await this.openIn(t.viewId, t.path);
        const r = await uploadTree(this.session(v.origin), folder, tree, {
          signal,
          ...(this.chunkThreshold !== undefined ? { chunkThreshold: this.chunkThreshold } : {}),
        });
        // NC 31 does not flag folders a sharee creates (docs/operations.md §3.3): say so.
        return r.unflagged.length === 0
          ? {}
          : {
              note: `The server did not mark ${r.unflagged.length} new sub-folder${r.unflagged.length === 1 ? '' : 's'} as encrypted (it does this only for the owner of a shared folder). The files are encrypted, but the server does not protect these folders against half-finished changes. Ask the owner to create such folders.`,
            };
      },
      transferId,
    );
    return true;
  }

  private sink(target: DownloadTarget): DownloadSink {
    if (!this.sinkFor) {
      throw fail(
        'unsupported',
        'This part of Cipherfold cannot save files. Nothing was downloaded. Use the folder view in your browser.',
      );
    }
    return this.sinkFor(target);
  }

  // ------------------------------------------------------------ content-script questions

  private session(origin: string): E2eeSession {
    const s = this.sessions.sessionFor(origin);
    if (!s) throw fail('locked', VAULT_LOCKED_MESSAGE);
    return s;
  }

  /** Is the folder at `path` (or a folder above it) end-to-end encrypted? Asked of the server. */
  async isEncryptedFolder(origin: string, path: string): Promise<{ encrypted: boolean }> {
    const session = this.sessions.sessionFor(origin);
    if (!session) return { encrypted: false };
    try {
      await session.findRoot(path);
      return { encrypted: true };
    } catch (e) {
      if (isCipherfoldError(e, 'unsupported') || isCipherfoldError(e, 'not-found'))
        return { encrypted: false };
      throw e;
    }
  }

  /** Server file ids of the encrypted folders directly inside the plain folder `path` (lock badges). */
  async encryptedChildren(origin: string, path: string): Promise<{ fileIds: string[] }> {
    const session = this.sessions.sessionFor(origin);
    if (!session) return { fileIds: [] };
    const entries = await session.client.dav.propfind(path, { depth: 1 });
    const ids = entries
      .slice(1)
      .filter((e) => e.isFolder && e.isEncrypted && e.fileId !== undefined)
      .map((e) => String(e.fileId));
    return { fileIds: ids.slice(0, 10_000) };
  }

  reportServerE2ee(origin: string): Record<string, never> {
    this.serverE2eePages.add(origin);
    return {};
  }

  /** Creates a view for a folder the server confirms to be encrypted; the id goes into the iframe URL. */
  async openView(origin: string, tabId: number, path: string): Promise<{ viewId: string }> {
    const session = this.session(origin);
    const found = await session.findRoot(path);
    this.sweep();
    if (this.views.size >= MAX_VIEWS) {
      const oldest = [...this.views.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed)[0];
      if (oldest) this.views.delete(oldest[0]);
    }
    const viewId = this.randomId();
    this.views.set(viewId, {
      origin,
      tabId,
      rootPath: found.ref.path,
      startPath: path,
      folderIds: new Map([[String(found.ref.fileId), found.ref.path]]),
      lastUsed: this.now(),
    });
    return { viewId };
  }

  // ------------------------------------------------------------ folder view

  private view(viewId: string): View {
    const v = this.views.get(viewId);
    if (!v) {
      throw fail(
        'not-found',
        'This folder view has expired. Cipherfold may have been restarted. Reload the Nextcloud page.',
      );
    }
    v.lastUsed = this.now();
    return v;
  }

  /** Checks that `path` lies inside the view's encrypted root. */
  private inside(v: View, path: string): string {
    const clean = '/' + splitPath(path).join('/');
    if (!isSameOrBelow(clean, v.rootPath)) {
      throw fail(
        'permission',
        'This folder is outside the encrypted folder this view was opened for. Nothing was shown. Open it from the Nextcloud page.',
      );
    }
    return clean;
  }

  private async openIn(viewId: string, path: string): Promise<{ v: View; folder: OpenedFolder }> {
    const v = this.view(viewId);
    const folder = await this.session(v.origin).open(this.inside(v, path));
    for (const e of folder.entries) {
      if (e.kind === 'folder' && e.fileId !== undefined)
        v.folderIds.set(String(e.fileId), joinPath(folder.ref.path, e.id));
    }
    v.folderIds.set(String(folder.ref.fileId), folder.ref.path);
    return { v, folder };
  }

  private listing(v: View, folder: OpenedFolder): FolderListing {
    const rootSegs = splitPath(v.rootPath);
    const below = splitPath(folder.ref.path).slice(rootSegs.length);
    const crumbs = folder.clearPath.map((name, i) => ({
      name,
      path: '/' + [...rootSegs, ...below.slice(0, i)].join('/'),
    }));
    return {
      path: folder.ref.path,
      rootPath: v.rootPath,
      crumbs,
      entries: folder.entries.map(entryInfo),
      unknownEntries: folder.unknownEntries,
      pageRunsServerE2ee: this.serverE2eePages.has(v.origin),
    };
  }

  private entryIds(folder: OpenedFolder, ids: readonly string[]): Uuid32[] {
    const out: Uuid32[] = [];
    for (const id of ids) {
      const e = folder.entries.find((x) => x.id.toLowerCase() === id.toLowerCase());
      if (!e)
        throw fail(
          'missing-file',
          'An item is not in this folder any more. Nothing was changed. Reload the folder.',
        );
      out.push(e.id);
    }
    return out;
  }

  handlers(): FolderHandlers {
    return {
      'folder/open': async ({ viewId, path }) => {
        const v = this.view(viewId);
        const { folder } = await this.openIn(viewId, path ?? v.startPath);
        return this.listing(v, folder);
      },
      'folder/navigate-hint': async ({ viewId, fileId }) => {
        const v = this.view(viewId);
        // A hint from the page: answered only with a folder this view itself listed (and verified).
        return { path: v.folderIds.get(fileId) ?? null };
      },
      'folder/create-folder': async ({ viewId, path, name }) => {
        const { v, folder } = await this.openIn(viewId, path);
        await this.session(v.origin).createFolder(folder, name);
        return {};
      },
      'folder/rename': async ({ viewId, path, id, name }) => {
        const { v, folder } = await this.openIn(viewId, path);
        const session = this.session(v.origin);
        const [uuid] = this.entryIds(folder, [id]);
        await renameEntry(session, folder, uuid!, name);
        return {};
      },
      'folder/move': async ({ viewId, path, ids, targetPath }) => {
        const { v, folder } = await this.openIn(viewId, path);
        const session = this.session(v.origin);
        const target = await session.open(this.inside(v, targetPath));
        const uuids = this.entryIds(folder, ids);
        for (const id of uuids) {
          if (isSameOrBelow(target.ref.path, joinPath(folder.ref.path, id))) {
            throw fail(
              'format',
              'A folder cannot be moved into itself. Nothing was changed. Choose another folder.',
            );
          }
        }
        let from = folder;
        let to = target;
        for (const id of uuids) {
          await moveEntry(session, from, id, to);
          [from, to] = [await session.reopen(from), await session.reopen(to)];
        }
        return {};
      },
      'folder/copy': async ({ viewId, path, ids, targetPath }) => {
        const { v, folder } = await this.openIn(viewId, path);
        const session = this.session(v.origin);
        let to = await session.open(this.inside(v, targetPath));
        const uuids = this.entryIds(folder, ids);
        for (const id of uuids) {
          if (isSameOrBelow(to.ref.path, joinPath(folder.ref.path, id))) {
            throw fail(
              'format',
              'A folder cannot be copied into itself. Nothing was changed. Choose another folder.',
            );
          }
        }
        let from = folder;
        for (const id of uuids) {
          const name = folder.entries.find((e) => e.id === id)!.name;
          await copyEntry(session, from, id, to, {
            newName: copyName(name, new Set(to.entries.map((e) => e.name))),
          });
          to = await session.reopen(to);
          if (from.ref.path === to.ref.path) from = to;
        }
        return {};
      },
      'folder/upload-begin': async ({ viewId, path, name, size, mimetype }) => {
        const v = this.view(viewId);
        this.inside(v, path);
        if (!Number.isSafeInteger(size) || size < 0) {
          throw fail('format', 'The size of this file is invalid. Nothing was uploaded. Try again.');
        }
        this.sweep();
        const transferId = this.randomId();
        this.pendingUploads.set(transferId, { viewId, path, name, size, mimetype, created: this.now() });
        return { transferId };
      },
      'folder/upload-tree-begin': async ({ viewId, path, items }) => {
        const v = this.view(viewId);
        this.inside(v, path);
        if (items.length === 0)
          throw fail('format', 'The folder to upload has no files. Nothing was uploaded.');
        for (const item of items) {
          treeSegments(item.relPath);
          if (!Number.isSafeInteger(item.size) || item.size < 0) {
            throw fail(
              'format',
              'The size of a file in this folder is invalid. Nothing was uploaded. Try again.',
            );
          }
        }
        // Same paths twice, or a file where a folder is: refused before anything is sent.
        buildTree(items, () => ({ name: '', size: 0, stream: () => new ReadableStream() }));
        this.sweep();
        const transferId = this.randomId();
        this.pendingTrees.set(transferId, { viewId, path, items, created: this.now() });
        return { transferId };
      },
      'folder/transfers': async ({ viewId }) => ({ transfers: this.transfers.list(viewId ?? undefined) }),
      'folder/transfer-cancel': async ({ transferId }) => {
        this.pendingUploads.delete(transferId);
        this.pendingTrees.delete(transferId);
        this.transfers.cancel(transferId);
        return {};
      },
      'folder/transfers-clear': async ({ viewId }) => {
        this.transfers.clearFinished(viewId ?? undefined);
        return {};
      },
      'folder/download-begin': async ({ viewId, path, id, deliver }) => {
        const { v, folder } = await this.openIn(viewId, path);
        const [uuid] = this.entryIds(folder, [id]);
        const entry = folder.verified.inner.files.get(uuid!);
        if (!entry) throw fail('missing-file', 'This file is not in the folder any more. Reload the folder.');
        const info = folder.entries.find((e) => e.id === uuid);
        const size = info?.kind === 'file' && info.size !== undefined ? info.size : null;
        const name = entry.filename;
        const mimetype = entry.mimetype || 'application/octet-stream';
        const session = this.session(v.origin);
        const transferId = this.transfers.start(
          { kind: 'download', name, total: size, viewId },
          async ({ signal, onProgress, saving }) => {
            const sink = this.sink({ transferId, name, mimetype, size, deliver });
            await downloadTo(session, folder, uuid!, announceSaving(sink, saving), { signal, onProgress });
          },
        );
        return { transferId, name, mimetype, size: size ?? 0 };
      },
      'folder/download-zip-begin': async ({ viewId, path, ids }) => {
        const { v, folder } = await this.openIn(viewId, path);
        const uuids = ids.length ? this.entryIds(folder, ids) : undefined;
        const session = this.session(v.origin);
        const base =
          uuids?.length === 1
            ? folder.entries.find((e) => e.id === uuids[0])!.name
            : (folder.clearPath[folder.clearPath.length - 1] ?? 'download');
        const name = `${base}.zip`;
        const transferId = this.transfers.start(
          { kind: 'zip', name, total: null, viewId },
          async ({ signal, onProgress, saving }) => {
            const sink = this.sink({
              transferId,
              name,
              mimetype: 'application/zip',
              size: null,
              deliver: 'save',
            });
            const counted = zipStream(session, folder, uuids).pipeThrough(
              meter(undefined, { signal, onProgress }),
            );
            await pump(counted, announceSaving(sink, saving), signal);
          },
        );
        return { transferId, name, mimetype: 'application/zip', size: 0 };
      },
      'folder/confirm-request': async ({ viewId, path, action, ids }) => {
        const { v, folder } = await this.openIn(viewId, path);
        const uuids = this.entryIds(folder, ids);
        if (uuids.length === 0) throw fail('format', 'Nothing is selected. Select items first.');
        const items = uuids.map((id) => folder.entries.find((e) => e.id === id)!);
        this.sweep();
        const confirmId = this.randomId();
        this.confirms.set(confirmId, {
          viewId,
          path: folder.ref.path,
          action,
          ids: uuids,
          details: {
            action,
            origin: v.origin,
            folderName: folder.clearPath[folder.clearPath.length - 1] ?? '',
            names: items.slice(0, 50).map((e) => e.name),
            count: items.length,
            includesFolders: items.some((e) => e.kind === 'folder'),
          },
          state: 'pending',
          message: '',
          created: this.now(),
        });
        return { confirmId };
      },
      'folder/confirm-get': async ({ confirmId }) => this.confirmation(confirmId).details,
      'folder/confirm-answer': async ({ confirmId, approve }) => {
        const c = this.confirmation(confirmId);
        if (c.state !== 'pending') return { state: c.state, message: c.message };
        if (!approve) {
          c.state = 'rejected';
          return { state: c.state, message: c.message };
        }
        c.state = 'running';
        try {
          const { v, folder } = await this.openIn(c.viewId, c.path);
          const session = this.session(v.origin);
          await deleteEntries(session, folder, this.entryIds(folder, c.ids));
          c.state = 'done';
        } catch (e) {
          c.state = 'failed';
          c.message = isCipherfoldError(e)
            ? e.message
            : 'Deleting failed. Nothing may have been changed. Reload the folder and try again.';
        }
        return { state: c.state, message: c.message };
      },
      'folder/confirm-status': async ({ confirmId }) => {
        const c = this.confirms.get(confirmId);
        if (!c) return { state: 'expired', message: '' };
        return { state: c.state, message: c.message };
      },
    };
  }

  private confirmation(confirmId: string): Confirmation {
    const c = this.confirms.get(confirmId);
    if (!c || (c.state === 'pending' && this.now() - c.created > CONFIRM_TTL_MS)) {
      throw fail('not-found', 'This confirmation has expired. Nothing was changed. Start the action again.');
    }
    return c;
  }

  /** Drops stale transfers and confirmations (they hold decrypted bytes or pending actions). */
  private sweep(): void {
    const now = this.now();
    for (const [id, u] of this.pendingUploads) {
      if (now - u.created > PENDING_UPLOAD_TTL_MS) this.pendingUploads.delete(id);
    }
    for (const [id, t] of this.pendingTrees) {
      if (now - t.created > PENDING_UPLOAD_TTL_MS) this.pendingTrees.delete(id);
    }
    for (const [id, c] of this.confirms) if (now - c.created > 4 * CONFIRM_TTL_MS) this.confirms.delete(id);
  }
}

/** The sink's `close` runs after verification: the transfer shows "saving" while the host hands it over. */
function announceSaving(sink: DownloadSink, saving: () => void): DownloadSink {
  return {
    write: (c) => sink.write(c),
    close: () => {
      saving();
      return sink.close();
    },
    abort: (r) => sink.abort(r),
  };
}

/** `name` if free in the target, else `name (copy)`, `name (copy 2)`, … (before the extension). */
export function copyName(name: string, taken: ReadonlySet<string>): string {
  if (!taken.has(name)) return name;
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let i = 1; ; i++) {
    const candidate = `${stem} (copy${i === 1 ? '' : ` ${i}`})${ext}`;
    if (!taken.has(candidate)) return candidate;
  }
}
