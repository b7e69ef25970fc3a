/**
 * The engine document's side of transfers (Chrome: offscreen document; Firefox: background page).
 *
 * - Uploads: an extension page (folder view) announces an upload with `folder/upload-begin`, then posts the
 *   user's File on the extension-origin BroadcastChannel `TRANSFER_CHANNEL`. A File crosses documents as a
 *   reference (structured clone), so the engine reads it as a stream and keeps going after the page closes.
 * - Downloads: the engine writes verified plaintext into a Blob built in pieces (each piece becomes its own
 *   Blob at once, so the bytes move to the browser's blob store, which pages to disk, instead of piling up in
 *   this document's memory). Only after the GCM tag verified is the Blob either saved through the downloads
 *   API (object URL, revoked once the browser wrote the file) or posted back for a preview page.
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

  const sinkFor: DownloadSinkFactory = (target) => {
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
