/**
 * `npm run test:big` (BIG=1): a 3 GiB (BIG_GIB) file streamed from generated data through
 * lib/engine/transfers (chunked upload v2 up, GET down) against the stand-in, SHA-256 of the plaintext
 * compared both ways, with the client's memory bounded (sampled RSS growth < 256 MiB).
 *
 * The stand-in runs in a child process behind tests/big/server.ts (disk-backed blob proxy; the stand-in
 * alone holds blobs in RAM and cannot GET one > 2 GiB — see that file). Its data dir is a temp folder.
 * Without BIG=1 the suite is skipped (it moves 6 GiB and takes minutes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NextcloudClient } from '../../lib/nextcloud';
import { setupFirstDevice } from '../../lib/engine/keys';
import { E2eeSession } from '../../lib/engine/folders';
import { MemoryTrustStore } from '../../lib/engine/trust-store';
import { downloadTo, uploadStream, type TransferProgress } from '../../lib/engine/transfers';

const MiB = 1024 * 1024;
const BIG = process.env['BIG'] === '1';
const SIZE = Math.round(Number(process.env['BIG_GIB'] ?? 3) * 1024 * MiB) + 12345;
const RSS_LIMIT = 256 * MiB;

/** Plaintext generated on the fly: AES-128-CTR keystream of a random seed, 1 MiB pieces, hashed as sent. */
function generated(size: number, hash: ReturnType<typeof createHash>): ReadableStream<Uint8Array> {
  const prng = createCipheriv('aes-128-ctr', randomBytes(16), Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  let sent = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (sent >= size) return c.close();
        const n = Math.min(MiB, size - sent);
        const b = prng.update(n === MiB ? zeros : zeros.subarray(0, n));
        hash.update(b);
        sent += n;
        c.enqueue(new Uint8Array(b.buffer, b.byteOffset, b.length));
      },
    },
    { highWaterMark: 0 },
  );
}

function progressLog(label: string): (p: TransferProgress) => void {
  let next = 0;
  return (p) => {
    if (p.bytes < next && p.bytes !== p.total) return;
    next = p.bytes + 512 * MiB;
    console.log(`${label}: ${(p.bytes / MiB).toFixed(0)} MiB, ${(p.bytesPerSecond / 1e6).toFixed(0)} MB/s`);
  };
}

if (!BIG) console.log('tests/big skipped: set BIG=1 (npm run test:big) to stream 3 GiB up and down');

describe.skipIf(!BIG)(`big: ${(SIZE / MiB).toFixed(0)} MiB streamed round trip (needs BIG=1)`, () => {
  let child: ChildProcess;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'cf-big-'));
  beforeAll(async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'tests/big/server.ts', dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    url = await new Promise<string>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`stand-in exited with ${code}`)));
      child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim().split('\n')[0]!));
    });
  });
  afterAll(() => {
    if (child?.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'uploads and downloads with matching SHA-256 and RSS growth < 256 MiB',
    { timeout: 30 * 60_000 },
    async () => {
      const client = new NextcloudClient({
        baseUrl: url,
        auth: { loginName: 'alice', appPassword: 'alice-password' },
        userId: 'alice',
      });
      const s = new E2eeSession(client, await setupFirstDevice(client), new MemoryTrustStore());
      const ref = await s.createRoot('/', 'big');
      const base = process.memoryUsage().rss;
      let peak = 0;
      const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss - base)), 20);
      const t0 = performance.now();
      let tUp = 0;
      try {
        const upHash = createHash('sha256');
        const id = await uploadStream(
          s,
          await s.open(ref.path),
          { name: 'big.bin', size: SIZE, stream: () => generated(SIZE, upHash) },
          { onProgress: progressLog('upload') },
        );
        tUp = performance.now() - t0;
        const downHash = createHash('sha256');
        let closed = false;
        const r = await downloadTo(
          s,
          await s.open(ref.path),
          id,
          {
            write: (c) => void downHash.update(c),
            close: () => void (closed = true),
            abort: () => undefined,
          },
          { onProgress: progressLog('download') },
        );
        expect(r.bytes).toBe(SIZE);
        expect(closed).toBe(true);
        expect(downHash.digest('hex')).toBe(upHash.digest('hex'));
      } finally {
        clearInterval(timer);
      }
      peak = Math.max(peak, process.memoryUsage().rss - base);
      const total = performance.now() - t0;
      console.log(
        `big round trip of ${(SIZE / MiB).toFixed(0)} MiB: upload ${(tUp / 1000).toFixed(0)} s ` +
          `(${(SIZE / 1e6 / (tUp / 1000)).toFixed(0)} MB/s), download ${((total - tUp) / 1000).toFixed(0)} s ` +
          `(${(SIZE / 1e6 / ((total - tUp) / 1000)).toFixed(0)} MB/s); client peak RSS growth ${(peak / MiB).toFixed(0)} MiB`,
      );
      expect(peak).toBeLessThan(RSS_LIMIT);
    },
  );
});
