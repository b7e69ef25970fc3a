/**
 * The engine document's side of transfers (Chrome: offscreen document; Firefox: background page).
 *
 * - Uploads: an extension page (folder view) announces an upload with `folder/upload-begin`, then posts the
 *   user's File on the extension-origin BroadcastChannel `TRANSFER_CHANNEL`. A File crosses documents as a
 *   reference (structured clone), so the engine reads it as a stream and keeps going after the page closes.
 * - Downloads to save: the engine writes the (not yet verified) plaintext to `<id>.part` in the
 *   origin-private file system, so memory stays bounded for any size; only after the GCM tag verified is
 *   that file saved through the downloads API (object URL, revoked once the browser wrote the file), and
 *   the part file is removed in every case. Without OPFS, and for previews, the bytes go into a Blob
 *   built in pieces (the browser's blob store: RAM up to its limit, then disk), which a preview page gets
 *   back on the channel.
 *
 * Only extension pages share this origin, so only they can post on or listen to the channel; the engine
 * still accepts an upload only for an id it issued, with exactly the announced size.
 */
import { fail } from '../../lib/errors';
import type {
  DownloadSinkFactory,
  DownloadTarget,
  FolderCommandService,
} from '../../lib/engine/folder-commands';
import type { DownloadSink } from '../../lib/engine/transfers';
import { TRANSFER_CHANNEL, type TransferChannelMessage } from '../../lib/messages';

export interface SaveApi {
  save(url: string, filename: string): Promise<number>;
  state(
    downloadId: number,
  ): Promise<{ state: 'in_progress' | 'complete' | 'interrupted' | 'gone'; error: string | null }>;
}

/** Pieces are merged into the growing Blob every this many bytes. */
const MERGE_BYTES = 16 * 1024 * 1024;
/** A preview Blob waits this long for its page to ask for it again. */
const PAGE_KEEP_MS = 5 * 60_000;
const STATE_POLL_MS = 500;

export interface TransferHost {
  sinkFor: DownloadSinkFactory;
  /** Starts listening for upload files for `folders`. */
  attach(folders: FolderCommandService): void;
}

const PARTS_DIR = 'cipherfold-downloads';

/**
 * The origin-private directory for downloads in progress, emptied at start (a download never survives
 * an engine restart). Null where the browser has no OPFS writable files: the Blob path is used then.
 */
function partsDirectory(): Promise<FileSystemDirectoryHandle | null> | null {
  const storage = (globalThis.navigator as Navigator | undefined)?.storage;
  if (!storage || typeof storage.getDirectory !== 'function') return null;
  return (async () => {
    try {
      const root = await storage.getDirectory();
      await root.removeEntry(PARTS_DIR, { recursive: true }).catch(() => undefined);
      const dir = await root.getDirectoryHandle(PARTS_DIR, { create: true });
      const probe = await dir.getFileHandle('probe', { create: true });
      if (
        typeof (probe as FileSystemFileHandle & { createWritable?: unknown }).createWritable !== 'function'
      ) {
        return null;
      }
      await dir.removeEntry('probe');
      return dir;
    } catch {
      return null;
    }
  })();
}

/**
 * A download into `<id>.part` in OPFS: unverified bytes go to disk, not memory; after the tag verified,
 * the file (a disk-backed File) is saved through the downloads API and the part file removed. Any
 * failure removes it too.
 */
function opfsSink(
  target: DownloadTarget,
  dirPromise: Promise<FileSystemDirectoryHandle | null>,
  saveToDisk: (target: DownloadTarget, blob: Blob) => Promise<void>,
): DownloadSink {
  const name = `${target.transferId}.part`;
  let dir: FileSystemDirectoryHandle | null = null;
  let handle: FileSystemFileHandle | null = null;
  let writable: FileSystemWritableFileStream | null = null;
  let fallback: Blob[] | null = null;
  // Opened at once (one promise for every caller), so the part file exists while the download runs and
  // an abort that comes before the first byte still finds and removes it.
  const opening = (async (): Promise<void> => {
    dir = await dirPromise;
    if (!dir) {
      fallback = [];
      return;
    }
    handle = await dir.getFileHandle(name, { create: true });
    writable = await handle.createWritable();
  })();
  opening.catch(() => undefined);
  const remove = async (): Promise<void> => {
    if (dir) await dir.removeEntry(name).catch(() => undefined);
  };
  return {
    async write(chunk) {
      await opening;
      if (fallback) fallback.push(new Blob([chunk as Uint8Array<ArrayBuffer>]));
      else await writable!.write(chunk as Uint8Array<ArrayBuffer>);
    },
    async close() {
      await opening;
      try {
        if (fallback) return await saveToDisk(target, new Blob(fallback, { type: target.mimetype }));
        await writable!.close();
        writable = null;
        await saveToDisk(target, await handle!.getFile());
      } finally {
        await remove();
      }
    },
    async abort() {
      await opening.catch(() => undefined);
      fallback = null;
      await writable?.abort().catch(() => undefined);
      writable = null;
      await remove();
    },
  };
}

export function createTransferHost(save: SaveApi): TransferHost {
  const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(TRANSFER_CHANNEL);
  const ready = new Map<string, { blob: Blob; until: number }>();

  const post = (m: TransferChannelMessage) => channel?.postMessage(m);

  function deliver(transferId: string, blob: Blob): void {
    const now = Date.now();
    for (const [id, r] of ready) if (r.until < now) ready.delete(id);
    ready.set(transferId, { blob, until: now + PAGE_KEEP_MS });
    post({ type: 'download-ready', transferId, blob });
  }

  async function saveToDisk(target: DownloadTarget, blob: Blob): Promise<void> {
    const url = URL.createObjectURL(blob);
    try {
      const downloadId = await save.save(url, target.name);
      for (;;) {
        await new Promise((r) => setTimeout(r, STATE_POLL_MS));
        const s = await save.state(downloadId);
        if (s.state === 'complete') return;
        if (s.state === 'interrupted' || s.state === 'gone') {
          throw fail(
            'cancelled',
            `The browser did not finish saving the file${s.error ? ` (${s.error})` : ''}. It was verified, but not saved. Download it again.`,
          );
        }
      }
    } finally {
      URL.revokeObjectURL(url);
    }
  }

  // Saved downloads are written to a file in the origin-private file system first, so a big file never
  // sits in memory (a Blob of several GiB is held by the browser's blob store, in RAM up to ~2 GiB).
  const parts = partsDirectory();

  const sinkFor: DownloadSinkFactory = (target) => {
    if (target.deliver === 'save' && parts) return opfsSink(target, parts, saveToDisk);
    let blob = new Blob([]);
    let pieces: Blob[] = [];
    let pending = 0;
    const sink: DownloadSink = {
      write(chunk) {
        // The Blob constructor copies the bytes now; the chunk can be collected at once.
        pieces.push(new Blob([chunk as Uint8Array<ArrayBuffer>]));
        pending += chunk.length;
        if (pending >= MERGE_BYTES) {
          blob = new Blob([blob, ...pieces]);
          pieces = [];
          pending = 0;
        }
      },
      async close() {
        const whole = new Blob([blob, ...pieces], { type: target.mimetype || 'application/octet-stream' });
        pieces = [];
        if (target.deliver === 'page') deliver(target.transferId, whole);
        else await saveToDisk(target, whole);
      },
      abort() {
        pieces = [];
        blob = new Blob([]);
      },
    };
    return sink;
  };

  return {
    sinkFor,
    attach(folders) {
      if (!channel) return;
      channel.onmessage = (e: MessageEvent<unknown>) => {
        const m = e.data as Partial<TransferChannelMessage> | null;
        if (!m || typeof m !== 'object' || typeof m.transferId !== 'string') return;
        if (m.type === 'upload-source' && m.file instanceof Blob) {
          folders.attachUploadSource(m.transferId, m.file);
        } else if (
          m.type === 'upload-tree-source' &&
          Array.isArray(m.files) &&
          m.files.every((f: unknown) => f instanceof Blob)
        ) {
          folders.attachTreeSources(m.transferId, m.files);
        } else if (m.type === 'download-want') {
          const r = ready.get(m.transferId);
          if (r) post({ type: 'download-ready', transferId: m.transferId, blob: r.blob });
        }
      };
    },
  };
}
