/**
 * Uploads and downloads from extension pages (folder view, viewer). The engine owns every transfer
 * (lib/engine/transfer-manager.ts): a page only starts one, follows its progress and may cancel it.
 *
 * - Upload: `folder/upload-begin` announces name and size; the File itself goes to the engine document on
 *   the extension-origin BroadcastChannel (a reference, not a copy). The engine reads it as a stream,
 *   encrypts and uploads it (chunked upload v2 for big files), and goes on if this page closes.
 * - Download: the engine decrypts and verifies, then saves through the downloads API (`save`), or hands
 *   a verified Blob back on the channel (`page`, for previews). Nothing is kept before the tag verified.
 */
import { uiCallOrThrow } from '../ui-client';
import {
  ReplyFailure,
  isTransferFinished,
  TRANSFER_CHANNEL,
  type DownloadDelivery,
  type TransferChannelMessage,
  type TransferView,
} from '@/lib/messages';

const POLL_MS = 400;
/** How long an announced upload may take to show up in the engine's list (its file is on the way). */
const APPEAR_MS = 15_000;

let channel: BroadcastChannel | null = null;
function transferChannel(): BroadcastChannel {
  channel ??= new BroadcastChannel(TRANSFER_CHANNEL);
  return channel;
}

/** Announces an upload and hands its file to the engine. Returns the transfer id. */
export async function startUpload(
  viewId: string,
  path: string,
  file: Blob,
  name: string,
  mimetype: string,
): Promise<string> {
  const { transferId } = await uiCallOrThrow('folder/upload-begin', {
    viewId,
    path,
    name,
    size: file.size,
    mimetype: mimetype.slice(0, 255),
  });
  const m: TransferChannelMessage = { type: 'upload-source', transferId, file };
  transferChannel().postMessage(m);
  return transferId;
}

/** Announces a folder tree and hands its files to the engine, in the announced order. */
export async function startTreeUpload(
  viewId: string,
  path: string,
  items: { relPath: string; file: Blob; mimetype: string }[],
): Promise<string> {
  const { transferId } = await uiCallOrThrow('folder/upload-tree-begin', {
    viewId,
    path,
    items: items.map((i) => ({ relPath: i.relPath, size: i.file.size, mimetype: i.mimetype.slice(0, 255) })),
  });
  const m: TransferChannelMessage = {
    type: 'upload-tree-source',
    transferId,
    files: items.map((i) => i.file),
  };
  transferChannel().postMessage(m);
  return transferId;
}

export async function startDownload(
  viewId: string,
  path: string,
  id: string,
  deliver: DownloadDelivery,
): Promise<{ transferId: string; name: string; mimetype: string; size: number }> {
  return uiCallOrThrow('folder/download-begin', { viewId, path, id, deliver });
}

export async function startZip(
  viewId: string,
  path: string,
  ids: string[],
): Promise<{ transferId: string; name: string }> {
  return uiCallOrThrow('folder/download-zip-begin', { viewId, path, ids });
}

export function cancelTransfer(transferId: string): Promise<unknown> {
  return uiCallOrThrow('folder/transfer-cancel', { transferId }).catch(() => undefined);
}

interface Follower {
  viewId: string | null;
  onUpdate: (t: TransferView) => void;
  resolve: (t: TransferView) => void;
  reject: (e: unknown) => void;
  started: number;
}

/** Every transfer this page follows; one poll of the engine's list serves them all. */
const followers = new Map<string, Follower>();
let pollTimer: ReturnType<typeof setTimeout> | null = null;

function schedule(delay: number): void {
  if (pollTimer === null && followers.size > 0) pollTimer = setTimeout(() => void pollOnce(), delay);
}

async function pollOnce(): Promise<void> {
  const views = new Set([...followers.values()].map((f) => f.viewId));
  for (const viewId of views) {
    let transfers: TransferView[];
    try {
      ({ transfers } = await uiCallOrThrow('folder/transfers', { viewId }));
    } catch (e) {
      for (const [id, f] of followers) {
        if (f.viewId !== viewId) continue;
        followers.delete(id);
        f.reject(e);
      }
      continue;
    }
    const byId = new Map(transfers.map((t) => [t.transferId, t]));
    for (const [id, f] of followers) {
      if (f.viewId !== viewId) continue;
      const t = byId.get(id);
      if (!t) {
        if (Date.now() - f.started > APPEAR_MS) {
          followers.delete(id);
          f.reject(
            new ReplyFailure({
              kind: 'internal',
              message:
                "The file did not reach Cipherfold's engine, so nothing was uploaded. Reload the folder view and try again.",
            }),
          );
        }
        continue;
      }
      f.onUpdate(t);
      if (!isTransferFinished(t.state)) continue;
      followers.delete(id);
      if (t.state === 'failed') {
        f.reject(
          new ReplyFailure({ kind: t.errorKind ?? 'internal', message: t.message ?? 'The transfer failed.' }),
        );
      } else {
        f.resolve(t);
      }
    }
  }
  pollTimer = null;
  schedule(POLL_MS);
}

/**
 * Follows one transfer until it ended; `onUpdate` gets every state seen. Throws a ReplyFailure (with the
 * engine's error kind) when it failed, resolves with the final view when done or cancelled. However many
 * transfers a page follows, it asks the engine for the list once per poll.
 */
export function follow(
  viewId: string | null,
  transferId: string,
  onUpdate: (t: TransferView) => void,
): Promise<TransferView> {
  return new Promise((resolve, reject) => {
    followers.set(transferId, { viewId, onUpdate, resolve, reject, started: Date.now() });
    schedule(0);
  });
}

/** The verified Blob of a `page` download, once the engine delivers it. */
export function receiveBlob(transferId: string, signal?: AbortSignal): Promise<Blob> {
  return new Promise((resolve, reject) => {
    const ch = new BroadcastChannel(TRANSFER_CHANNEL);
    const timer = setInterval(() => {
      // Ask again in case the delivery went out before this page listened.
      const want: TransferChannelMessage = { type: 'download-want', transferId };
      ch.postMessage(want);
    }, 1000);
    const done = () => {
      clearInterval(timer);
      ch.close();
    };
    ch.onmessage = (e: MessageEvent<unknown>) => {
      const m = e.data as Partial<TransferChannelMessage> | null;
      if (m?.type === 'download-ready' && m.transferId === transferId && m.blob instanceof Blob) {
        done();
        resolve(m.blob);
      }
    };
    signal?.addEventListener('abort', () => {
      done();
      reject(new ReplyFailure({ kind: 'cancelled', message: 'Cancelled.' }));
    });
  });
}

/** Saves a Blob this page already has (the viewer's "Download") through an object URL of this page. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download =
    [...name].map((c) => (c.charCodeAt(0) < 0x20 || '\\/:*?"<>|'.includes(c) ? '_' : c)).join('') ||
    'download';
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
