/**
 * Browsers send a streamed request body (`fetch` with a ReadableStream and `duplex: 'half'`) only over
 * HTTP/2 or later; most Nextcloud servers, and the stand-in, speak HTTP/1.1, where Chromium fails the
 * request before sending it. This fetch wrapper turns a streamed body into a Blob first and sends that.
 *
 * Memory stays bounded: every piece becomes its own small Blob as it arrives (the bytes move into the
 * browser's blob store, which spills to disk), and the pieces are merged into one growing Blob every
 * `mergeBytes`. Only single PUTs reach this (chunked upload v2 already sends bytes of at most one chunk).
 * Node's fetch streams fine; use the plain fetch there.
 */
import type { FetchInit, FetchLike } from './types';

export function withBlobBodies(fetchFn: FetchLike, mergeBytes = 16 * 1024 * 1024): FetchLike {
  return async (input, init) => {
    const body = init.body;
    if (!(body instanceof ReadableStream)) return fetchFn(input, init);
    const blob = await collect(body as ReadableStream<Uint8Array>, mergeBytes, init.signal ?? undefined);
    const next: FetchInit = { ...init, body: blob };
    delete next.duplex;
    return fetchFn(input, next);
  };
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  mergeBytes: number,
  signal?: AbortSignal,
): Promise<Blob> {
  const reader = stream.getReader();
  let whole = new Blob([]);
  let pieces: Blob[] = [];
  let pending = 0;
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      const r = await reader.read();
      if (r.done) break;
      pieces.push(new Blob([r.value as Uint8Array<ArrayBuffer>]));
      pending += r.value.length;
      if (pending >= mergeBytes) {
        whole = new Blob([whole, ...pieces]);
        pieces = [];
        pending = 0;
      }
    }
  } catch (e) {
    await reader.cancel(e).catch(() => undefined);
    throw e;
  }
  return new Blob([whole, ...pieces]);
}
