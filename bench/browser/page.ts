/**
 * In-page half of bench/browser.bench.ts: bundled with esbuild at bench time and served from loopback.
 * Exposes `window.cfBench`; every function returns plain JSON for `page.evaluate`. Timing is taken in the
 * page (performance.now) so that the Playwright round trip is not counted.
 */
import {
  createGcmDecryptStream,
  createGcmEncryptStream,
  gcmEncryptChunked,
} from '../../lib/crypto/gcm-stream';
import { decryptPayloadStream } from '../../lib/protocol/payload';
import { fromHex, toHex, type Bytes } from '../../lib/crypto/bytes';

const SOURCE_CHUNK = 64 * 1024;
const POOL_SIZE = 16 * 1024 * 1024;

function buf(n: number): Bytes {
  return new Uint8Array(n) as Bytes;
}

/** 16 MiB random pool; each 64 KiB piece is a copy stamped with its offset (as bench/gcm-stream.bench.ts). */
let pool: Bytes | undefined;
function getPool(): Bytes {
  if (!pool) {
    pool = buf(POOL_SIZE);
    for (let o = 0; o < POOL_SIZE; o += 65536) crypto.getRandomValues(pool.subarray(o, o + 65536));
  }
  return pool;
}

function chunkAt(pos: number, size: number): Bytes {
  const p = getPool();
  const start = pos % POOL_SIZE;
  const out = buf(size);
  out.set(p.subarray(start, Math.min(POOL_SIZE, start + size)));
  if (start + size > POOL_SIZE) out.set(p.subarray(0, start + size - POOL_SIZE), POOL_SIZE - start);
  if (size >= 8) new DataView(out.buffer).setFloat64(0, pos);
  return out;
}

/** Generated plaintext stream (64 KiB chunks), or views-copied pieces of `data` when given. */
function source(total: number, data?: Uint8Array): ReadableStream<Uint8Array> {
  let pos = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (pos >= total) return c.close();
        const n = Math.min(SOURCE_CHUNK, total - pos);
        c.enqueue(data ? data.slice(pos, pos + n) : chunkAt(pos, n));
        pos += n;
      },
    },
    { highWaterMark: 0 },
  );
}

function counting(): { sink: WritableStream<Uint8Array>; count: () => number; tail: () => Uint8Array } {
  let n = 0;
  let last: Uint8Array = new Uint8Array(0);
  return {
    sink: new WritableStream<Uint8Array>({
      write(chunk) {
        n += chunk.length;
        last = chunk;
      },
    }),
    count: () => n,
    tail: () => last,
  };
}

interface Prepared {
  size: number;
  key: Bytes;
  nonce: Bytes;
  plain?: Bytes;
  /** ciphertext ‖ tag of `plain` by one-shot WebCrypto */
  sealed?: Bytes;
}
let prep: Prepared | undefined;

async function oneShot(op: 'encrypt' | 'decrypt', key: Bytes, iv: Bytes, data: Bytes): Promise<Bytes> {
  const k = await crypto.subtle.importKey('raw', key, 'AES-GCM', false, [op]);
  return new Uint8Array(await crypto.subtle[op]({ name: 'AES-GCM', iv, tagLength: 128 }, k, data)) as Bytes;
}

const api = {
  /** Generates the in-memory inputs for the one-shot and decrypt cases (untimed). */
  async prepare(size: number): Promise<{ ms: number }> {
    const t0 = performance.now();
    prep = undefined;
    const key = crypto.getRandomValues(buf(16));
    const nonce = crypto.getRandomValues(buf(12));
    const plain = buf(size);
    for (let o = 0; o < size; o += SOURCE_CHUNK) plain.set(chunkAt(o, Math.min(SOURCE_CHUNK, size - o)), o);
    const sealed = await oneShot('encrypt', key, nonce, plain);
    prep = { size, key, nonce, plain, sealed };
    return { ms: performance.now() - t0 };
  },
  release(): void {
    prep = undefined;
  },
  async sourceOnly(): Promise<{ ms: number; bytes: number }> {
    const p = prep!;
    const c = counting();
    const t0 = performance.now();
    await source(p.size).pipeTo(c.sink);
    return { ms: performance.now() - t0, bytes: c.count() };
  },
  async encryptStream(): Promise<{ ms: number; tagOk: boolean }> {
    const p = prep!;
    const c = counting();
    const t0 = performance.now();
    const enc = createGcmEncryptStream(p.key, p.nonce);
    await source(p.size).pipeThrough(enc).pipeTo(c.sink);
    const tag = await enc.tag;
    const ms = performance.now() - t0;
    if (c.count() !== p.size + 16) throw new Error(`encrypt stream wrote ${c.count()} bytes`);
    return { ms, tagOk: toHex(tag) === toHex(p.sealed!.subarray(p.size)) };
  },
  async encryptOneShot(): Promise<{ ms: number; tagOk: boolean }> {
    const p = prep!;
    const t0 = performance.now();
    const out = await oneShot('encrypt', p.key, p.nonce, p.plain!);
    const ms = performance.now() - t0;
    return { ms, tagOk: toHex(out.subarray(p.size)) === toHex(p.sealed!.subarray(p.size)) };
  },
  async decryptStream(): Promise<{ ms: number; bytes: number }> {
    const p = prep!;
    const c = counting();
    const t0 = performance.now();
    const dec = createGcmDecryptStream(p.key, p.nonce);
    await source(p.sealed!.length, p.sealed).pipeThrough(dec).pipeTo(c.sink);
    await dec.verified;
    return { ms: performance.now() - t0, bytes: c.count() };
  },
  async decryptOneShot(): Promise<{ ms: number; bytes: number }> {
    const p = prep!;
    const t0 = performance.now();
    const out = await oneShot('decrypt', p.key, p.nonce, p.sealed!);
    return { ms: performance.now() - t0, bytes: out.length };
  },
  /** fetch → decryptPayloadStream → counting sink; the blob is generated by the Node server. */
  async download(
    url: string,
    keyHex: string,
    nonceHex: string,
  ): Promise<{ ms: number; bytes: number; heap?: number }> {
    const t0 = performance.now();
    const res = await fetch(url, { cache: 'no-store' });
    if (!res.ok || !res.body) throw new Error(`GET ${url}: ${res.status}`);
    const dec = decryptPayloadStream(fromHex(keyHex), fromHex(nonceHex));
    const c = counting();
    await res.body.pipeThrough(dec).pipeTo(c.sink);
    await dec.verified;
    const mem = (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory;
    return { ms: performance.now() - t0, bytes: c.count(), ...(mem ? { heap: mem.usedJSHeapSize } : {}) };
  },
  /** Raw WebCrypto AES-GCM with a 16-byte IV (plus the module's sealed multi-piece path, 16-byte nonce). */
  async iv16(keyHex: string, ivHex: string, plainHex: string, sealedSize: number) {
    const key = fromHex(keyHex);
    const iv = fromHex(ivHex);
    const plain = fromHex(plainHex);
    let raw: string;
    try {
      raw = toHex(await oneShot('encrypt', key, iv, plain));
    } catch (e) {
      raw = `ERROR ${(e as Error).name}: ${(e as Error).message}`;
    }
    let rawBack = '';
    try {
      rawBack = toHex(await oneShot('decrypt', key, iv, fromHex(raw)));
    } catch (e) {
      rawBack = `ERROR ${(e as Error).name}`;
    }
    // Sealed pieces: 3 MiB + 5 bytes with 1 MiB pieces and a 16-byte nonce; return only the tag.
    const big = buf(sealedSize);
    for (let o = 0; o < sealedSize; o++) big[o] = (o * 31 + 7) & 0xff;
    const sealedOut = await gcmEncryptChunked(key, iv, big, { method: 'seal' });
    const ctrOut = await gcmEncryptChunked(key, iv, big, { method: 'ctr+ghash' });
    return {
      raw,
      rawBackOk: rawBack === plainHex,
      sealedTag: toHex(sealedOut.subarray(sealedSize)),
      sealedEqualsCtr: toHex(sealedOut) === toHex(ctrOut),
    };
  },
};

(window as unknown as { cfBench: typeof api }).cfBench = api;
document.getElementById('state')!.textContent = 'ready';
