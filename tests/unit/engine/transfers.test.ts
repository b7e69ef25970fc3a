/** Streaming upload (single PUT and chunked) and download with progress, cancellation and sinks. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  downloadTo,
  uploadStream,
  type DownloadSink,
  type TransferProgress,
} from '../../../lib/engine/transfers';
import { kindOf, makeWorld, rootName, streamOf, type World } from './helpers';

function collector(): DownloadSink & { data(): Uint8Array; calls: string[] } {
  const parts: Uint8Array[] = [];
  const calls: string[] = [];
  return {
    calls,
    write: (c) => void parts.push(c.slice()),
    close: () => void calls.push('close'),
    abort: () => void calls.push('abort'),
    data: () => Buffer.concat(parts),
  };
}

const META_PUT = /\/end_to_end_encryption\/api\/v2\/meta-data\/\d+(\?|$)/;

describe.each(['main', 'nc31'] as const)('transfers (%s)', (flavour) => {
  let w: World;
  beforeAll(async () => {
    w = await makeWorld(flavour);
  });
  afterAll(() => w.close());

  it.each([false, true])(
    'streamed upload (chunked: %s) and download round trip with progress',
    async (chunked) => {
      const s = w.session('alice');
      const ref = await s.createRoot('/', rootName());
      const data = new Uint8Array(randomBytes(300_000));
      const up: TransferProgress[] = [];
      const before = w.srv.control.requests.length;
      const id = await uploadStream(
        s,
        await s.open(ref.path),
        { name: 'big.bin', size: data.length, stream: () => streamOf(data, 10_000) },
        {
          onProgress: (p) => up.push(p),
          ...(chunked ? { chunkThreshold: 100_000, chunkSize: 64 * 1024 } : {}),
        },
      );
      const reqs = w.srv.control.requests.slice(before);
      expect(reqs.some((r) => r.path.includes('/remote.php/dav/uploads/'))).toBe(chunked);
      expect(up.at(-1)!.bytes).toBe(data.length);
      expect(up.at(-1)!.bytesPerSecond).toBeGreaterThan(0);
      const folder = await s.open(ref.path);
      expect(folder.entries[0]).toMatchObject({ kind: 'file', size: data.length });
      const sink = collector();
      const down: TransferProgress[] = [];
      const r = await downloadTo(s, folder, id, sink, { onProgress: (p) => down.push(p) });
      expect(r.bytes).toBe(data.length);
      expect(Buffer.from(sink.data()).equals(Buffer.from(data))).toBe(true);
      expect(sink.calls).toEqual(['close']);
      expect(down.at(-1)).toMatchObject({ bytes: data.length, total: data.length });
    },
  );

  it('downloads into a WritableStream (close = commit)', async () => {
    const s = w.session('alice');
    const ref = await s.createRoot('/', rootName());
    const data = new Uint8Array(randomBytes(5000));
    const id = await uploadStream(s, await s.open(ref.path), {
      name: 'a',
      size: data.length,
      stream: () => streamOf(data),
    });
    const parts: Uint8Array[] = [];
    let closed = false;
    const ws = new WritableStream<Uint8Array>({
      write: (c) => void parts.push(c),
      close: () => void (closed = true),
    });
    await downloadTo(s, await s.open(ref.path), id, ws);
    expect(closed).toBe(true);
    expect(Buffer.concat(parts).equals(Buffer.from(data))).toBe(true);
  });

  it('a source shorter than announced fails and leaves nothing behind', async () => {
    const s = w.session('alice');
    const ref = await s.createRoot('/', rootName());
    const data = new Uint8Array(1000);
    expect(
      await kindOf(
        uploadStream(s, await s.open(ref.path), { name: 'x', size: 2000, stream: () => streamOf(data) }),
      ),
    ).toBe('format');
    const f = await s.open(ref.path);
    expect(f.entries).toEqual([]);
    expect(w.srv.control.lockOf(Number(ref.fileId))).toBeUndefined();
  });

  it('chunked upload whose metadata write fails: the unstaged blob is deleted under the same token', async () => {
    const s = w.session('alice');
    const ref = await s.createRoot('/', rootName());
    const data = new Uint8Array(randomBytes(200_000));
    w.srv.control.forceStatus({ method: 'PUT', path: META_PUT, status: 503, times: 1 });
    const err = await kindOf(
      uploadStream(
        s,
        await s.open(ref.path),
        { name: 'c', size: data.length, stream: () => streamOf(data) },
        { chunkThreshold: 50_000, chunkSize: 64 * 1024 },
      ),
    );
    expect(err).toBe('server');
    expect(w.srv.control.lockOf(Number(ref.fileId))).toBeUndefined();
    const f = await s.open(ref.path);
    expect(f.entries).toEqual([]);
    expect(f.unknownEntries).toBe(0);
    // committed (not aborted): the unchanged document was rewritten with the cycle's counter
    expect(f.verified.inner.counter).toBe(2);
  });

  it('cancelling a download aborts the sink', async () => {
    const s = w.session('alice');
    const ref = await s.createRoot('/', rootName());
    const data = new Uint8Array(randomBytes(2_000_000));
    const id = await uploadStream(s, await s.open(ref.path), {
      name: 'c',
      size: data.length,
      stream: () => streamOf(data),
    });
    const ctl = new AbortController();
    const sink = collector();
    const p = downloadTo(s, await s.open(ref.path), id, sink, {
      signal: ctl.signal,
      onProgress: (pr) => {
        if (pr.bytes > 0) ctl.abort();
      },
    });
    expect(await kindOf(p)).toBe('cancelled');
    expect(sink.calls).toEqual(['abort']);
  });
});
