/**
 * File payload AES-128-GCM throughput: streaming (lib/crypto/gcm-stream.ts) vs one-shot WebCrypto, for
 * 64 MiB and 1 GiB, with peak extra memory. Streaming cases read a pseudo-random source stream (64 KiB
 * chunks, like a fetch body) and write to a counting sink, so the payload is never held in memory.
 * Every result is checked against Node's `crypto` (tags computed in an untimed pre-pass).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import {
  GCM_STREAM_DEFAULT_CHUNK_SIZE,
  GcmDecryptStream,
  GcmEncryptStream,
  gcmDecryptChunked,
  gcmEncryptChunked,
} from '../lib/crypto/gcm-stream';
import { bytes, equalBytes, randomBytes, type Bytes } from '../lib/crypto/bytes';
import { formatSize, type BenchContext } from './harness';

export const name = 'gcm';
export const description = 'file payload AES-128-GCM: streaming vs one-shot WebCrypto';

const MiB = 1024 * 1024;
const SOURCE_CHUNK = 64 * 1024;
const POOL_SIZE = 16 * MiB;

/** Deterministic pseudo-random data: a 16 MiB random pool, each 64 KiB piece stamped with its offset. */
class PseudoRandom {
  private readonly pool = randomBytes(POOL_SIZE);

  chunkAt(pos: number, size: number): Bytes {
    const start = pos % POOL_SIZE;
    const out = bytes(size);
    out.set(this.pool.subarray(start, Math.min(POOL_SIZE, start + size)));
    if (start + size > POOL_SIZE) out.set(this.pool.subarray(0, start + size - POOL_SIZE), POOL_SIZE - start);
    new DataView(out.buffer).setFloat64(0, pos);
    return out;
  }

  /** Always 64 KiB pieces (the stamp positions define the data). */
  *chunks(total: number): Generator<Bytes> {
    for (let pos = 0; pos < total; pos += SOURCE_CHUNK)
      yield this.chunkAt(pos, Math.min(SOURCE_CHUNK, total - pos));
  }

  stream(total: number, trailer?: Bytes): ReadableStream<Uint8Array> {
    let pos = 0;
    let trailerSent = !trailer;
    return new ReadableStream<Uint8Array>(
      {
        pull: (controller) => {
          if (pos < total) {
            const n = Math.min(SOURCE_CHUNK, total - pos);
            controller.enqueue(this.chunkAt(pos, n));
            pos += n;
          } else if (!trailerSent) {
            controller.enqueue(trailer!);
            trailerSent = true;
          } else {
            controller.close();
          }
        },
      },
      { highWaterMark: 0 },
    );
  }

  buffer(total: number, trailer?: Bytes): Bytes {
    const out = bytes(total + (trailer?.length ?? 0));
    let o = 0;
    for (const c of this.chunks(total)) {
      out.set(c, o);
      o += c.length;
    }
    if (trailer) out.set(trailer, total);
    return out;
  }
}

function countingSink(): { sink: WritableStream<Uint8Array>; count: () => number; last: () => Uint8Array } {
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
    last: () => last,
  };
}

/**
 * Untimed reference pass with Node's crypto over the pseudo-random data P of `total` bytes:
 * encTag = tag of encrypting P; decTag = the tag that makes P itself a valid ciphertext (decrypt P with
 * CTR, re-encrypt the result: same ciphertext, so its tag).
 */
function referenceTags(
  src: PseudoRandom,
  key: Bytes,
  nonce: Bytes,
  total: number,
): { encTag: Bytes; decTag: Bytes } {
  const enc = createCipheriv('aes-128-gcm', key, nonce);
  const dec = createDecipheriv('aes-128-gcm', key, nonce);
  const reenc = createCipheriv('aes-128-gcm', key, nonce);
  for (const c of src.chunks(total)) {
    enc.update(c);
    reenc.update(dec.update(c));
  }
  enc.final();
  reenc.final();
  return {
    encTag: new Uint8Array(enc.getAuthTag()) as Bytes,
    decTag: new Uint8Array(reenc.getAuthTag()) as Bytes,
  };
}

function tagNote(got: Uint8Array, want: Uint8Array): string {
  if (!equalBytes(got, want)) throw new Error('tag differs from node:crypto');
  return 'tag = node:crypto';
}

interface Case {
  name: string;
  note?: string;
  fn: () => Promise<string | void>;
}

/** Rounds for the smaller size; every case runs once per round, interleaved, so load spikes hit all. */
const ROUNDS_SMALL = Number(process.env.BENCH_GCM_ROUNDS ?? 5);
const ROUNDS_LARGE = Number(process.env.BENCH_GCM_ROUNDS_LARGE ?? 1);

/**
 * Small in-memory payloads: where does one WebCrypto call stop being the better choice? (This is what
 * `PAYLOAD_ONE_SHOT_MAX` in lib/protocol/payload.ts is based on.)
 */
async function runSmall(ctx: BenchContext, src: PseudoRandom, key: Bytes, nonce: Bytes): Promise<void> {
  const rounds = Number(process.env.BENCH_GCM_SMALL_ROUNDS ?? 7);
  for (const total of [256 * 1024, 1 * MiB, 4 * MiB, 16 * MiB]) {
    const size = formatSize(total).replace(' ', '');
    const pt = src.buffer(total);
    const k = await crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']);
    const blob = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce }, k, pt)) as Bytes;
    const cases: Case[] = [
      {
        name: `small encrypt one-shot ${size}`,
        fn: async () => {
          const kk = await crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt']);
          await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce }, kk, pt);
        },
      },
      {
        name: `small encrypt chunked-buffer ${size}`,
        fn: async () => void (await gcmEncryptChunked(key, nonce, pt)),
      },
      {
        name: `small decrypt one-shot ${size}`,
        fn: async () => {
          const kk = await crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['decrypt']);
          await crypto.subtle.decrypt({ name: 'AES-GCM', iv: nonce }, kk, blob);
        },
      },
      {
        name: `small decrypt chunked-buffer ${size}`,
        fn: async () => void (await gcmDecryptChunked(key, nonce, blob)),
      },
    ].filter((c) => ctx.include(c.name));
    for (let r = 0; r < rounds; r++) for (const c of cases) await ctx.measure(c.name, { bytes: total }, c.fn);
  }
}

export async function run(ctx: BenchContext): Promise<void> {
  const src = new PseudoRandom();
  const key = randomBytes(16);
  const nonce = randomBytes(12);
  const tagCache = new Map<number, { encTag: Bytes; decTag: Bytes }>();
  // Order matters for the ΔRSS column: RSS freed by earlier cases is kept by the allocator and reused
  // without showing up, so the 1 GiB streaming cases run first, in a process that has not yet held
  // large buffers, and the big in-memory cases run last.
  const plan: ({ total: number; parts: 'stream' | 'memory' | 'all' } | 'small')[] = [
    { total: 1024 * MiB, parts: 'stream' },
    'small',
    { total: 64 * MiB, parts: 'all' },
    { total: 1024 * MiB, parts: 'memory' },
  ];
  for (const step of plan) {
    if (step === 'small') {
      await runSmall(ctx, src, key, nonce);
      continue;
    }
    const { total, parts } = step;
    const size = formatSize(total).replace(' ', '');
    const small = total <= 64 * MiB;
    const rounds = small ? ROUNDS_SMALL : ROUNDS_LARGE;
    const id = (c: string): string => `${c} ${size}`;
    const chunkSizes = [GCM_STREAM_DEFAULT_CHUNK_SIZE];
    if (small) chunkSizes.push(256 * 1024, 4 * MiB, 8 * MiB);
    const variant = (chunkSize: number): string =>
      chunkSize === GCM_STREAM_DEFAULT_CHUNK_SIZE ? '' : `[${formatSize(chunkSize).replace(' ', '')} chunks]`;

    const streamCases: Case[] = [
      {
        name: id('source only (no crypto)'),
        note: '64 KiB chunks',
        fn: async () => {
          const s = countingSink();
          await src.stream(total).pipeTo(s.sink);
          if (s.count() !== total) throw new Error('short');
        },
      },
    ];
    let tags: { encTag: Bytes; decTag: Bytes } | undefined;
    for (const chunkSize of chunkSizes) {
      streamCases.push(
        {
          name: id(`encrypt stream${variant(chunkSize)}`),
          fn: async () => {
            const enc = new GcmEncryptStream(key, nonce, { chunkSize });
            const s = countingSink();
            await src.stream(total).pipeThrough(enc).pipeTo(s.sink);
            if (s.count() !== total + 16) throw new Error('wrong output length');
            return tagNote(await enc.tag, tags!.encTag);
          },
        },
        {
          name: id(`decrypt stream${variant(chunkSize)}`),
          fn: async () => {
            const dec = new GcmDecryptStream(key, nonce, { chunkSize });
            const s = countingSink();
            await src.stream(total, tags!.decTag).pipeThrough(dec).pipeTo(s.sink);
            if (s.count() !== total) throw new Error('wrong output length');
            await dec.verified;
            return 'tag verified';
          },
        },
      );
    }
    const inMemory = `input (${size}) in memory before start`;
    let pt: Bytes | undefined;
    let blob: Bytes | undefined;
    const encCases: Case[] = [
      {
        name: id('encrypt one-shot'),
        note: inMemory,
        fn: async () => {
          const k = await crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt']);
          const out = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce }, k, pt!));
          return tagNote(out.subarray(total), tags!.encTag);
        },
      },
      {
        name: id('encrypt chunked-buffer'),
        note: inMemory,
        fn: async () => tagNote((await gcmEncryptChunked(key, nonce, pt!)).subarray(total), tags!.encTag),
      },
    ];
    const decCases: Case[] = [
      {
        name: id('decrypt one-shot'),
        note: inMemory,
        fn: async () => {
          const k = await crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['decrypt']);
          const out = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: nonce }, k, blob!);
          if (out.byteLength !== total) throw new Error('wrong output length');
          return 'tag verified';
        },
      },
      {
        name: id('decrypt chunked-buffer'),
        note: inMemory,
        fn: async () => {
          if ((await gcmDecryptChunked(key, nonce, blob!)).length !== total)
            throw new Error('wrong output length');
          return 'tag verified';
        },
      },
    ];
    const wanted = (cs: Case[]): Case[] => cs.filter((c) => ctx.include(c.name));
    const sc = parts === 'memory' ? [] : wanted(streamCases);
    const ec = parts === 'stream' ? [] : wanted(encCases);
    const dc = parts === 'stream' ? [] : wanted(decCases);
    if (sc.length + ec.length + dc.length === 0) continue;

    tags = tagCache.get(total);
    if (!tags) {
      ctx.log(`  (reference tags for ${size} with node:crypto …)`);
      tags = referenceTags(src, key, nonce, total);
      tagCache.set(total, tags);
    }
    const measure = (c: Case): Promise<unknown> =>
      ctx.measure(c.name, { bytes: total, note: c.note ?? '' }, c.fn);

    if (small) {
      // Everything fits: keep both buffers and interleave all cases in every round.
      pt = ec.length > 0 ? src.buffer(total) : undefined;
      blob = dc.length > 0 ? src.buffer(total, tags.decTag) : undefined;
      for (let r = 0; r < rounds; r++) for (const c of [...sc, ...ec, ...dc]) await measure(c);
      pt = blob = undefined;
    } else {
      // 1 GiB: only one input buffer alive at a time.
      for (let r = 0; r < rounds; r++) for (const c of sc) await measure(c);
      if (ec.length > 0) {
        pt = src.buffer(total);
        for (let r = 0; r < rounds; r++) for (const c of ec) await measure(c);
        pt = undefined;
      }
      if (dc.length > 0) {
        blob = src.buffer(total, tags.decTag);
        for (let r = 0; r < rounds; r++) for (const c of dc) await measure(c);
        blob = undefined;
      }
    }
  }
}
