/**
 * A ~64 MiB streamed upload + download round trip with bounded memory. The stand-in runs in a child
 * process so that its own buffering (it reads whole request bodies) does not count against the client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { NextcloudClient } from '../../../lib/nextcloud';
import { setupFirstDevice } from '../../../lib/engine/keys';
import { E2eeSession } from '../../../lib/engine/folders';
import { MemoryTrustStore } from '../../../lib/engine/trust-store';
import { downloadTo, uploadStream } from '../../../lib/engine/transfers';

const SIZE = Number(process.env['CF_MEM_MIB'] ?? 64) * 1024 * 1024 + 12345;
const MiB = 1024 * 1024;

/** Deterministic bytes generated on the fly (never held as a whole). */
function generated(size: number, hash: ReturnType<typeof createHash>): ReadableStream<Uint8Array> {
  let sent = 0;
  let x = 0x12345678;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent >= size) return c.close();
      const n = Math.min(256 * 1024, size - sent);
      const b = new Uint8Array(n);
      const v = new Uint32Array(b.buffer, 0, n >>> 2);
      for (let i = 0; i < v.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        v[i] = x >>> 0;
      }
      hash.update(b);
      sent += n;
      c.enqueue(b);
    },
  });
}

describe('bounded memory', () => {
  let child: ChildProcess;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'cf-mem-'));
  beforeAll(async () => {
    child = spawn(
      process.execPath,
      ['--import', 'tsx', 'tests/server/main.ts', '--port', '0', '--data-dir', dir],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    url = await new Promise<string>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`stand-in exited with ${code}`)));
      child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim().split('\n')[0]!));
    });
  });
  afterAll(() => {
    if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams ~64 MiB up and down with < 200 MiB growth', async () => {
    const client = new NextcloudClient({
      baseUrl: url,
      auth: { loginName: 'alice', appPassword: 'alice-password' },
      userId: 'alice',
    });
    const s = new E2eeSession(client, await setupFirstDevice(client), new MemoryTrustStore());
    const ref = await s.createRoot('/', 'big');
    // RSS (what the brief bounds) lags behind garbage; live external memory after a GC shows whether
    // anything holds the file: streaming keeps it at a few chunks.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let peak = 0;
    let live = 0;
    const base = process.memoryUsage().rss;
    let ticks = 0;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss - base);
      if (++ticks % 4 === 0) {
        gc();
        live = Math.max(live, process.memoryUsage().arrayBuffers);
      }
    }, 25);
    try {
      const upHash = createHash('sha256');
      const id = await uploadStream(s, await s.open(ref.path), {
        name: 'big.bin',
        size: SIZE,
        stream: () => generated(SIZE, upHash),
      });
      const downHash = createHash('sha256');
      let closed = false;
      const r = await downloadTo(s, await s.open(ref.path), id, {
        write: (c) => void downHash.update(c),
        close: () => void (closed = true),
        abort: () => undefined,
      });
      expect(r.bytes).toBe(SIZE);
      expect(closed).toBe(true);
      expect(downHash.digest('hex')).toBe(upHash.digest('hex'));
    } finally {
      clearInterval(timer);
    }
    peak = Math.max(peak, process.memoryUsage().rss - base);
    console.log(
      `bounded memory: peak RSS growth ${(peak / MiB).toFixed(1)} MiB, live buffers ≤ ${(live / MiB).toFixed(1)} MiB, for ${(SIZE / MiB).toFixed(0)} MiB each way`,
    );
    expect(peak).toBeLessThan(200 * MiB);
    expect(live).toBeLessThan(32 * MiB);
  });
});
