/**
 * Streaming transfers with bounded memory (architecture §5): encrypt a plaintext stream into a DAV PUT
 * (or chunked upload v2 above a threshold), decrypt a DAV GET into a sink, and re-encrypt a stored file
 * into a new one (move/copy). Progress (bytes, speed) through a callback; cancellation via AbortSignal.
 *
 * Downloads report success ONLY after the GCM tag verified: the sink's `close` (commit) is called after
 * verification, `abort` (discard) on any failure; plaintext written before is unverified until then.
 *
 * Chunked uploads (NC 31 does not stage the final MOVE, see docs/operations.md): the blob lands under its
 * final name at once, so it is only moved there while holding the lock and the metadata is written right
 * after; on failure the blob is deleted under the same token and the unchanged metadata is rewritten so the
 * unlock commits the deletion (`commitOnFailure`).
 */
import { fail, isCipherfoldError } from '../errors';
import type { LockToken, NextcloudClient } from '../nextcloud';
import {
  newUuid32,
  putFile,
  type FileEntry,
  type RootDraft,
  type SubDraft,
  type Uuid32,
} from '../protocol/metadata';
import { PAYLOAD_TAG_LENGTH } from '../protocol/payload';
import { cycleDraft, writeDraft } from './drafts';
import type { E2eeSession, OpenedFolder } from './folders';
import { checkName } from './folders';
import type { LockCycle } from './lock';
import { joinPath } from './paths';
import { decryptFileStream, encryptFileStream, payloadBlobSize } from './payload-adapter';

export interface TransferProgress {
  /** Plaintext bytes moved so far. */
  readonly bytes: number;
  readonly total: number | undefined;
  /** Average since the start, bytes per second. */
  readonly bytesPerSecond: number;
}

export interface TransferOptions {
  onProgress?: (p: TransferProgress) => void;
  signal?: AbortSignal;
}

export interface UploadStreamOptions extends TransferOptions {
  /** Blobs larger than this use chunked upload v2. Default 256 MiB. */
  chunkThreshold?: number;
  /** Chunk size for chunked upload. Default 10 MiB. */
  chunkSize?: number;
}

/** A file to upload: its exact plaintext size and a stream of its bytes (read once). */
export interface PlainSource {
  readonly name: string;
  readonly mimetype?: string;
  readonly size: number;
  stream(): ReadableStream<Uint8Array>;
}

/** Where a download goes: `write` gets unverified plaintext, `close` commits, `abort` discards. */
export interface DownloadSink {
  write(chunk: Uint8Array): void | Promise<void>;
  close(): void | Promise<void>;
  abort(reason: unknown): void | Promise<void>;
}

export const DEFAULT_CHUNK_THRESHOLD = 256 * 1024 * 1024;

/** A `DownloadSink` over a WritableStream (close = commit, abort = discard). */
export function sinkFromWritable(ws: WritableStream<Uint8Array>): DownloadSink {
  const w = ws.getWriter();
  return {
    write: (c) => w.write(c),
    close: () => w.close(),
    abort: (r) => w.abort(r),
  };
}

function isSink(x: DownloadSink | WritableStream<Uint8Array>): x is DownloadSink {
  return typeof (x as Partial<DownloadSink>).write === 'function';
}

function cancelledError(cause?: unknown): Error {
  return fail('cancelled', 'The transfer was cancelled. Nothing was kept. Start it again if you want.', {
    cause,
  });
}

/** A running byte count with speed, reported through `onProgress`. */
function progressCounter(
  total: number | undefined,
  o: TransferOptions,
): { add(n: number): number; report(): void } {
  const start = Date.now();
  let bytes = 0;
  const report = (): void => {
    const secs = Math.max(0.001, (Date.now() - start) / 1000);
    o.onProgress?.({ bytes, total, bytesPerSecond: bytes / secs });
  };
  return {
    add(n) {
      bytes += n;
      report();
      return bytes;
    },
    report,
  };
}

/** Counts bytes, enforces an exact size (when given), reports progress and honours the signal. */
export function meter(
  total: number | undefined,
  o: TransferOptions & { exact?: boolean },
): TransformStream<Uint8Array, Uint8Array> {
  const counter = progressCounter(total, o);
  let bytes = 0;
  return new TransformStream<Uint8Array, Uint8Array>({
    start: () => counter.report(),
    transform(chunk, c) {
      if (o.signal?.aborted) throw cancelledError(o.signal.reason);
      if (o.exact && total !== undefined && bytes + chunk.length > total) throw sizeMismatch();
      bytes = counter.add(chunk.length);
      c.enqueue(chunk);
    },
    flush() {
      if (o.exact && total !== undefined && bytes !== total) throw sizeMismatch();
    },
  });
}

/**
 * One progress count over several streams (the files of a tree upload): each stream passed to the
 * returned function is counted into the same total; the signal is honoured as in `meter`.
 */
export function sharedMeter(
  total: number | undefined,
  o: TransferOptions,
): (stream: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array> {
  const counter = progressCounter(total, o);
  return (stream) =>
    stream.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          if (o.signal?.aborted) throw cancelledError(o.signal.reason);
          counter.add(chunk.length);
          c.enqueue(chunk);
        },
      }),
    );
}

function sizeMismatch(): Error {
  return fail(
    'format',
    'The file does not have the size announced for it. It may have changed while uploading. Nothing was saved; try again.',
  );
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw fail('format', 'A file size is invalid. This is a bug. Report it.');
  }
}

/**
 * Inside a lock cycle: encrypts `source` with a fresh key and nonce and writes it as `folderPath/id`.
 * Returns the metadata entry. `chunked` chooses chunked upload v2 (final MOVE not staged on NC 31).
 */
export async function putEncrypted(
  client: NextcloudClient,
  token: LockToken,
  path: string,
  source: PlainSource,
  o: UploadStreamOptions & { chunked: boolean },
): Promise<FileEntry> {
  checkSize(source.size);
  const enc = encryptFileStream();
  const body = source
    .stream()
    .pipeThrough(meter(source.size, { ...o, exact: true }), o.signal ? { signal: o.signal } : {})
    .pipeThrough(enc.stream);
  const blobSize = payloadBlobSize(source.size);
  let failure: unknown;
  enc.tag.catch((e: unknown) => (failure = e));
  try {
    if (o.chunked) {
      await client.dav.uploadChunked(path, body, {
        size: blobSize,
        token,
        signal: o.signal,
        ...(o.chunkSize === undefined ? {} : { chunkSize: o.chunkSize }),
      });
    } else {
      await client.dav.upload(path, body, { token, size: blobSize, signal: o.signal });
    }
  } catch (e) {
    // The body stream failed (size mismatch, cancelled source…): report that, not the transport's view.
    if (isCipherfoldError(failure)) throw failure;
    if (o.signal?.aborted) throw cancelledError(e);
    throw e;
  }
  const tag = await enc.tag;
  return {
    filename: source.name,
    mimetype: source.mimetype ?? 'application/octet-stream',
    key: enc.key,
    nonce: enc.nonce,
    authenticationTag: tag,
  };
}

/**
 * §9.6 with a stream: uploads one file in its own lock cycle. Single staged PUT up to `chunkThreshold`,
 * chunked upload above it (see the module note for the failure handling).
 */
export async function uploadStream(
  session: E2eeSession,
  folder: OpenedFolder,
  source: PlainSource,
  o: UploadStreamOptions = {},
): Promise<Uuid32> {
  checkName(folder, source.name);
  checkSize(source.size);
  const id = newUuid32();
  const chunked = payloadBlobSize(source.size) > (o.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD);
  await session.lockFolder(folder, async (cycle, f) => {
    checkName(f, source.name);
    const path = joinPath(f.ref.path, id);
    try {
      const entry = await putEncrypted(session.client, cycle.token, path, source, { ...o, chunked });
      cycle.staged(f.ref.fileId);
      const draft = putFile(cycleDraft<RootDraft | SubDraft>(cycle, f.ref.fileId, f.verified), id, entry);
      await writeDraft(
        session.client,
        cycle,
        f.ref.fileId,
        draft,
        f.root.verified.metadataKey,
        session.signer,
      );
    } catch (e) {
      if (chunked) await removeUnstagedBlob(session, cycle, f, path);
      throw e;
    }
  });
  return id;
}

/**
 * A chunked upload's blob is at its final name, outside staging. Delete it under the cycle's token and
 * rewrite the folder's unchanged metadata so that the unlock commits the deletion. If the blob is not
 * there (the MOVE never happened), the normal abort applies.
 */
async function removeUnstagedBlob(
  session: E2eeSession,
  cycle: LockCycle,
  f: OpenedFolder,
  path: string,
): Promise<void> {
  try {
    await session.client.dav.delete(path, { token: cycle.token, skipTrashbin: true });
  } catch {
    return; // 404: nothing landed; other failures: leave it to the abort (an orphan at worst)
  }
  cycle.staged(f.ref.fileId);
  try {
    const unchanged = cycleDraft<RootDraft | SubDraft>(cycle, f.ref.fileId, f.verified);
    await writeDraft(
      session.client,
      cycle,
      f.ref.fileId,
      unchanged,
      f.root.verified.metadataKey,
      session.signer,
    );
    cycle.commitOnFailure();
  } catch {
    /* abort restores the blob as an orphan (unknown entry, no key anywhere): harmless, listed as unknown */
  }
}

export interface DecryptedStream {
  /** UNVERIFIED plaintext until the stream ends without error. */
  readonly stream: ReadableStream<Uint8Array>;
  /** Plaintext size from Content-Length (blob − 16), if the server sent it. */
  readonly size: number | undefined;
  /** Settles when the tag verified (or failed). */
  readonly verified: Promise<void>;
}

/** GET + streaming decryption of one file of `folder`. */
export async function openDecrypted(
  client: NextcloudClient,
  folder: OpenedFolder,
  id: Uuid32,
  o: TransferOptions = {},
): Promise<DecryptedStream> {
  const entry = folder.verified.inner.files.get(id);
  if (!entry) throw fail('missing-file', 'This file is not in the folder any more. Reload the folder.');
  const dl = await client.dav.download(joinPath(folder.ref.path, id), { signal: o.signal });
  const size = dl.size === undefined ? undefined : Math.max(0, dl.size - PAYLOAD_TAG_LENGTH);
  const dec = decryptFileStream(entry.key, entry.nonce);
  const stream = dl.body.pipeThrough(dec, o.signal ? { signal: o.signal } : {}).pipeThrough(meter(size, o));
  return { stream, size, verified: dec.verified };
}

/**
 * Streams one file into `sink`; resolves after the tag verified and `sink.close()` finished. On any failure
 * (tag, network, cancel) `sink.abort()` is called, `close` never, and the error is thrown.
 */
export async function downloadTo(
  session: E2eeSession,
  folder: OpenedFolder,
  id: Uuid32,
  target: DownloadSink | WritableStream<Uint8Array>,
  o: TransferOptions = {},
): Promise<{ bytes: number }> {
  let d: DecryptedStream;
  const sink = isSink(target) ? target : sinkFromWritable(target);
  try {
    d = await openDecrypted(session.client, folder, id, o);
  } catch (e) {
    await Promise.resolve(sink.abort(e)).catch(() => undefined);
    throw normaliseTransferError(e, o.signal);
  }
  return pump(d.stream, sink, o.signal, d.verified);
}

/**
 * Copies `stream` into `target`; `close` (commit) only after the stream ended without error (and
 * `verified` resolved), otherwise `abort` (discard) and the error is thrown.
 */
export async function pump(
  stream: ReadableStream<Uint8Array>,
  target: DownloadSink | WritableStream<Uint8Array>,
  signal?: AbortSignal,
  verified?: Promise<void>,
): Promise<{ bytes: number }> {
  const sink = isSink(target) ? target : sinkFromWritable(target);
  let bytes = 0;
  try {
    const reader = stream.getReader();
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      bytes += r.value.length;
      await sink.write(r.value);
    }
    await verified;
  } catch (e) {
    await Promise.resolve(sink.abort(e)).catch(() => undefined);
    throw normaliseTransferError(e, signal);
  }
  await sink.close();
  return { bytes };
}

function normaliseTransferError(e: unknown, signal: AbortSignal | undefined): unknown {
  if (isCipherfoldError(e)) return e;
  if (signal?.aborted) return cancelledError(e);
  return e;
}

/**
 * Inside a lock cycle: downloads `id` from `from`, verifies and re-encrypts it with a fresh key and nonce
 * into `toPath` (staged single PUT). The new blob is only complete if the source tag verified: a bad tag
 * fails the PUT (the decryptor withholds the last bytes) and the error is `tag`.
 */
export async function reencryptInto(
  client: NextcloudClient,
  token: LockToken,
  from: OpenedFolder,
  id: Uuid32,
  toPath: string,
  o: TransferOptions = {},
): Promise<FileEntry> {
  const entry = from.verified.inner.files.get(id);
  if (!entry) throw fail('missing-file', 'This file is not in the folder any more. Reload the folder.');
  const d = await openDecrypted(client, from, id, o);
  if (d.size === undefined) {
    await d.stream.cancel().catch(() => undefined);
    throw fail(
      'server',
      'The server did not send the size of the file. Nothing was changed; try again later.',
    );
  }
  let tagFailure: unknown;
  d.verified.catch((e: unknown) => (tagFailure = e));
  try {
    return await putEncrypted(
      client,
      token,
      toPath,
      { name: entry.filename, mimetype: entry.mimetype, size: d.size, stream: () => d.stream },
      { signal: o.signal, chunked: false },
    );
  } catch (e) {
    await d.verified.catch(() => undefined);
    if (isCipherfoldError(tagFailure)) throw tagFailure;
    throw e;
  }
}
