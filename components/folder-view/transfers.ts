/**
 * Upload and download between the folder view (or viewer) and the engine.
 *
 * Data path: the page reads the user's File in 1 MiB slices (`Blob.slice().arrayBuffer()`), base64-encodes
 * each slice and sends it as `folder/upload-chunk` through the background to the engine (offscreen
 * document), which encrypts and uploads once all bytes are there. Downloads go the other way: the engine
 * decrypts and verifies the whole file (tag checked before any byte is handed out), then the page pulls
 * `folder/download-chunk`s and assembles a Blob in the extension page, saved through an object URL.
 * Extension messaging is JSON-only in Chrome, so base64 it is; nothing leaves extension documents.
 */
import { fromBase64, toBase64 } from '@/lib/crypto/bytes';
import { TRANSFER_CHUNK_BYTES } from '@/lib/messages';
import { uiCallOrThrow } from '../ui-client';

export interface Progress {
  done: number;
  total: number;
}

export class Cancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

export async function uploadFile(
  viewId: string,
  path: string,
  file: Blob,
  name: string,
  mimetype: string,
  onProgress: (p: Progress) => void,
  signal: AbortSignal,
): Promise<string> {
  const { transferId } = await uiCallOrThrow('folder/upload-begin', {
    viewId,
    path,
    name,
    size: file.size,
    mimetype: mimetype.slice(0, 255),
  });
  try {
    for (let offset = 0; offset < file.size; offset += TRANSFER_CHUNK_BYTES) {
      if (signal.aborted) throw new Cancelled();
      const chunk = new Uint8Array(await file.slice(offset, offset + TRANSFER_CHUNK_BYTES).arrayBuffer());
      await uiCallOrThrow('folder/upload-chunk', { transferId, data: toBase64(chunk) });
      onProgress({ done: Math.min(file.size, offset + chunk.length), total: file.size });
    }
    if (signal.aborted) throw new Cancelled();
    const { id } = await uiCallOrThrow('folder/upload-finish', { transferId });
    onProgress({ done: file.size, total: file.size });
    return id;
  } catch (e) {
    await uiCallOrThrow('folder/transfer-cancel', { transferId }).catch(() => undefined);
    throw e;
  }
}

export interface DownloadedFile {
  name: string;
  mimetype: string;
  parts: Uint8Array<ArrayBuffer>[];
  size: number;
}

export function downloadFile(
  viewId: string,
  path: string,
  id: string,
  onProgress: (p: Progress) => void,
  signal?: AbortSignal,
): Promise<DownloadedFile> {
  return pull(uiCallOrThrow('folder/download-begin', { viewId, path, id }), onProgress, signal);
}

/** A zip of several items (folders included), built and verified by the engine. */
export function downloadZip(
  viewId: string,
  path: string,
  ids: string[],
  onProgress: (p: Progress) => void,
  signal?: AbortSignal,
): Promise<DownloadedFile> {
  return pull(uiCallOrThrow('folder/download-zip-begin', { viewId, path, ids }), onProgress, signal);
}

async function pull(
  begin: Promise<{ transferId: string; name: string; mimetype: string; size: number }>,
  onProgress: (p: Progress) => void,
  signal?: AbortSignal,
): Promise<DownloadedFile> {
  const begun = await begin;
  const parts: Uint8Array<ArrayBuffer>[] = [];
  let offset = 0;
  try {
    for (;;) {
      if (signal?.aborted) throw new Cancelled();
      const { data, done } = await uiCallOrThrow('folder/download-chunk', {
        transferId: begun.transferId,
        offset,
      });
      const bytes = fromBase64(data, 'A download chunk');
      parts.push(bytes);
      offset += bytes.length;
      onProgress({ done: offset, total: begun.size });
      if (done) break;
    }
  } catch (e) {
    await uiCallOrThrow('folder/transfer-cancel', { transferId: begun.transferId }).catch(() => undefined);
    throw e;
  }
  return { name: begun.name, mimetype: begun.mimetype, parts, size: offset };
}

/** Saves bytes through an anchor download of an object URL created in this extension page. */
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
