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
import { fromBase64, toBase64, concatBytes, type Bytes } from '../crypto/bytes';
import { fail, isCipherfoldError } from '../errors';
import {
  TRANSFER_CHUNK_BYTES,
  TRANSFER_MAX_BYTES,
  VAULT_LOCKED_MESSAGE,
  type ConfirmAction,
  type ConfirmDetails,
  type ConfirmState,
  type FolderCommands,
  type FolderEntryInfo,
  type FolderListing,
} from '../messages/folder';
import type { Uuid32 } from '../protocol/metadata';
import type { E2eeSession, OpenedFolder } from './folders';
import { deleteEntries, moveEntry, renameEntry } from './ops';
import { isSameOrBelow, joinPath, splitPath } from './paths';
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

interface Upload {
  viewId: string;
  path: string;
  name: string;
  size: number;
  mimetype: string;
  parts: Bytes[];
  received: number;
  lastUsed: number;
}

interface Download {
  data: Bytes;
  lastUsed: number;
}

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
}

const MAX_VIEWS = 64;
const TRANSFER_TTL_MS = 15 * 60_000;
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
  private readonly uploads = new Map<string, Upload>();
  private readonly downloads = new Map<string, Download>();
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
      'folder/upload-begin': async ({ viewId, path, name, size, mimetype }) => {
        const v = this.view(viewId);
        this.inside(v, path);
        if (size < 0 || size > TRANSFER_MAX_BYTES) {
          throw fail(
            'unsupported',
            'This file is too large to upload here. Nothing was uploaded. Use the desktop client for files over 1 GiB.',
          );
        }
        this.sweep();
        const transferId = this.randomId();
        this.uploads.set(transferId, {
          viewId,
          path,
          name,
          size,
          mimetype,
          parts: [],
          received: 0,
          lastUsed: this.now(),
        });
        return { transferId };
      },
      'folder/upload-chunk': async ({ transferId, data }) => {
        const u = this.upload(transferId);
        const bytes = fromBase64(data, 'An upload chunk');
        if (bytes.length > TRANSFER_CHUNK_BYTES || u.received + bytes.length > u.size) {
          this.uploads.delete(transferId);
          throw fail('format', 'The upload sent more data than announced. Nothing was uploaded. Try again.');
        }
        u.parts.push(bytes);
        u.received += bytes.length;
        u.lastUsed = this.now();
        return { received: u.received };
      },
      'folder/upload-finish': async ({ transferId }) => {
        const u = this.upload(transferId);
        this.uploads.delete(transferId);
        if (u.received !== u.size) {
          throw fail('format', 'The upload ended before all data arrived. Nothing was uploaded. Try again.');
        }
        const { v, folder } = await this.openIn(u.viewId, u.path);
        const id = await this.session(v.origin).uploadFile(
          folder,
          u.name,
          concatBytes(...u.parts),
          u.mimetype || 'application/octet-stream',
        );
        return { id };
      },
      'folder/transfer-cancel': async ({ transferId }) => {
        this.uploads.delete(transferId);
        this.downloads.delete(transferId);
        return {};
      },
      'folder/download-begin': async ({ viewId, path, id }) => {
        const { v, folder } = await this.openIn(viewId, path);
        const [uuid] = this.entryIds(folder, [id]);
        const file = await this.session(v.origin).downloadFile(folder, uuid!);
        this.sweep();
        const transferId = this.randomId();
        this.downloads.set(transferId, { data: file.data, lastUsed: this.now() });
        return { transferId, name: file.name, mimetype: file.mimetype, size: file.data.length };
      },
      'folder/download-zip-begin': async ({ viewId, path, ids }) => {
        const { v, folder } = await this.openIn(viewId, path);
        const uuids = ids.length ? this.entryIds(folder, ids) : undefined;
        const session = this.session(v.origin);
        const data = new Uint8Array(
          await new Response(zipStream(session, folder, uuids)).arrayBuffer(),
        ) as Bytes;
        if (data.length > TRANSFER_MAX_BYTES) {
          throw fail(
            'unsupported',
            'This selection is too large to download as one zip here. Nothing was saved. Download fewer items at a time.',
          );
        }
        this.sweep();
        const transferId = this.randomId();
        this.downloads.set(transferId, { data, lastUsed: this.now() });
        const base =
          uuids?.length === 1
            ? folder.entries.find((e) => e.id === uuids[0])!.name
            : (folder.clearPath[folder.clearPath.length - 1] ?? 'download');
        return { transferId, name: `${base}.zip`, mimetype: 'application/zip', size: data.length };
      },
      'folder/download-chunk': async ({ transferId, offset }) => {
        const d = this.downloads.get(transferId);
        if (!d) throw fail('not-found', 'This download has expired. Nothing was saved. Start it again.');
        if (offset < 0 || offset > d.data.length)
          throw fail('format', 'A download chunk was asked for out of range. Start the download again.');
        const end = Math.min(d.data.length, offset + TRANSFER_CHUNK_BYTES);
        const done = end >= d.data.length;
        const data = toBase64(d.data.subarray(offset, end));
        if (done) this.downloads.delete(transferId);
        else d.lastUsed = this.now();
        return { data, done };
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

  private upload(transferId: string): Upload {
    const u = this.uploads.get(transferId);
    if (!u) throw fail('not-found', 'This upload has expired. Nothing was uploaded. Start it again.');
    return u;
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
    for (const [id, u] of this.uploads) if (now - u.lastUsed > TRANSFER_TTL_MS) this.uploads.delete(id);
    for (const [id, d] of this.downloads) if (now - d.lastUsed > TRANSFER_TTL_MS) this.downloads.delete(id);
    for (const [id, c] of this.confirms) if (now - c.created > 4 * CONFIRM_TTL_MS) this.confirms.delete(id);
  }
}
