import { createCipheriv, randomBytes as nodeRandom } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { bytes, concatBytes, fromHex, toHex, type Bytes } from '../../../lib/crypto/bytes';
import { gcmEncrypt } from '../../../lib/crypto/aes-gcm';
import {
  GCM_STREAM_DEFAULT_CHUNK_SIZE,
  GcmDecryptStream,
  GcmEncryptStream,
  GcmStreamDecryptor,
  GcmStreamEncryptor,
  createGcmDecryptStream,
  createGcmEncryptStream,
  gcmDecryptChunked,
  gcmEncryptChunked,
} from '../../../lib/crypto/gcm-stream';
import { gcmJ0, gfInvert, gfMul, gfOne, gfPow, lengthBlock, xorBlocks } from '../../../lib/crypto/ghash';
import { isCipherfoldError } from '../../../lib/errors';

const MiB = 1024 * 1024;
const subtle = crypto.subtle;
const realEncrypt = subtle.encrypt.bind(subtle);

function rnd(n: number): Bytes {
  return new Uint8Array(nodeRandom(n)) as Bytes;
}

/** Reference: Node's OpenSSL AES-GCM, ciphertext ‖ tag. */
function nodeSeal(key: Uint8Array, nonce: Uint8Array, pt: Uint8Array): Bytes {
  const c = createCipheriv(key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, nonce);
  return new Uint8Array(Buffer.concat([c.update(pt), c.final(), c.getAuthTag()])) as Bytes;
}

/** AES_K(block) via Node's ECB, for H in tests. */
function aesBlock(key: Uint8Array, block: Uint8Array): Bytes {
  const c = createCipheriv(key.length === 16 ? 'aes-128-ecb' : 'aes-256-ecb', key, null);
  c.setAutoPadding(false);
  return new Uint8Array(c.update(block)) as Bytes;
}

/** Splits `data` at the given cut points (any order, duplicates allowed). */
function split(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.min(data.length, c)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, data.length]) {
    parts.push(data.slice(prev, p));
    prev = p;
  }
  return parts;
}

interface StreamResult {
  out: Bytes;
  error: unknown;
  chunks: number;
}

async function runStream(
  ts: TransformStream<Uint8Array, Uint8Array>,
  pieces: Uint8Array[],
): Promise<StreamResult> {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const p of pieces) controller.enqueue(p);
      controller.close();
    },
  });
  const parts: Uint8Array[] = [];
  let error: unknown;
  try {
    await source.pipeThrough(ts).pipeTo(
      new WritableStream<Uint8Array>({
        write(chunk) {
          parts.push(chunk.slice());
        },
      }),
    );
  } catch (e) {
    error = e;
  }
  return { out: concatBytes(...parts), error, chunks: parts.length };
}

const SIZES = [0, 1, 15, 16, 17, 31, 32, 33, 100, 255, 256, 257, 1000];

describe('GF(2^128) helpers', () => {
  it('multiplication has identity, commutes, and inverts', () => {
    for (let i = 0; i < 20; i++) {
      const a = rnd(16);
      const b = rnd(16);
      expect(toHex(gfMul(a, gfOne()))).toBe(toHex(a));
      expect(toHex(gfMul(a, b))).toBe(toHex(gfMul(b, a)));
      expect(toHex(gfMul(a, gfInvert(a)))).toBe(toHex(gfOne()));
    }
    expect(toHex(gfInvert(bytes(16)))).toBe(toHex(bytes(16)));
  });

  it('gfPow agrees with repeated multiplication', () => {
    const h = rnd(16);
    let acc = gfOne();
    for (let e = 0; e < 40; e++) {
      expect(toHex(gfPow(h, e))).toBe(toHex(acc));
      acc = gfMul(acc, h);
    }
    // x^(a+b) = x^a · x^b for large exponents
    expect(toHex(gfPow(h, 2 ** 32 + 5))).toBe(toHex(gfMul(gfPow(h, 2 ** 32), gfPow(h, 5))));
  });

  it('known product: H = E_K(0) for the all-zero key, H·H matches GHASH of one block', () => {
    // GCM spec test case 2: K = 0^128, H = 66e94bd4ef8a2c3b884cfa59ca342b2e, C = 0388dace60b6a392f328c2b971b2fe78,
    // GHASH(C ‖ len) = f38cbb1ad69223dcc3457ae5b6b0f885.
    const h = fromHex('66e94bd4ef8a2c3b884cfa59ca342b2e');
    const c = fromHex('0388dace60b6a392f328c2b971b2fe78');
    const x1 = gfMul(c, h);
    const ghash = gfMul(xorBlocks(x1, lengthBlock(0, 16)), h);
    expect(toHex(ghash)).toBe('f38cbb1ad69223dcc3457ae5b6b0f885');
  });
});

describe('NIST / GCM-spec test vectors (no AAD)', () => {
  const P3 =
    'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255';
  const vectors = [
    { k: '00'.repeat(16), p: '', iv: '00'.repeat(12), c: '', t: '58e2fccefa7e3061367f1d57a4e7455a' },
    {
      k: '00'.repeat(16),
      p: '00'.repeat(16),
      iv: '00'.repeat(12),
      c: '0388dace60b6a392f328c2b971b2fe78',
      t: 'ab6e47d42cec13bdf53a67b21257bddf',
    },
    {
      k: 'feffe9928665731c6d6a8f9467308308',
      p: P3,
      iv: 'cafebabefacedbaddecaf888',
      c: '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985',
      t: '4d5c2af327cd64a62cf35abd2ba6fab4',
    },
    { k: '00'.repeat(32), p: '', iv: '00'.repeat(12), c: '', t: '530f8afbc74536b9a963b4f1c4cb738b' },
    {
      k: '00'.repeat(32),
      p: '00'.repeat(16),
      iv: '00'.repeat(12),
      c: 'cea7403d4d606b6e074ec5d3baf39d18',
      t: 'd0d1c8a799996bf0265b98b5d48ab919',
    },
    {
      k: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
      p: P3,
      iv: 'cafebabefacedbaddecaf888',
      c: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad',
      t: 'b094dac5d93471bdec1a502270e3cc6c',
    },
  ];
  for (const [i, v] of vectors.entries()) {
    it(`vector ${i + 1} (AES-${v.k.length * 4}, ${v.p.length / 2} bytes)`, async () => {
      for (const chunkSize of [16, 32, GCM_STREAM_DEFAULT_CHUNK_SIZE]) {
        const sealed = await gcmEncryptChunked(fromHex(v.k), fromHex(v.iv), fromHex(v.p), { chunkSize });
        expect(toHex(sealed)).toBe(v.c + v.t);
        const opened = await gcmDecryptChunked(fromHex(v.k), fromHex(v.iv), sealed, { chunkSize });
        expect(toHex(opened)).toBe(v.p);
      }
    });
  }
});

describe('streaming AES-GCM matches node:crypto', () => {
  it('all sizes × key sizes × nonce lengths × small chunk sizes', async () => {
    for (const keyLen of [16, 32]) {
      for (const nonceLen of [1, 8, 12, 13, 16, 60]) {
        for (const size of SIZES) {
          for (const chunkSize of [16, 48, 64]) {
            const key = rnd(keyLen);
            const nonce = rnd(nonceLen);
            const pt = rnd(size);
            const want = nodeSeal(key, nonce, pt);
            for (const method of ['seal', 'ctr+ghash'] as const) {
              const got = await gcmEncryptChunked(key, nonce, pt, { chunkSize, method });
              expect(toHex(got), `k${keyLen} n${nonceLen} s${size} c${chunkSize} ${method}`).toBe(
                toHex(want),
              );
            }
            expect(toHex(await gcmDecryptChunked(key, nonce, want, { chunkSize }))).toBe(toHex(pt));
          }
        }
      }
    }
  });

  it('default chunk size: boundaries ±1 and several MiB, through the streams', async () => {
    const C = GCM_STREAM_DEFAULT_CHUNK_SIZE;
    for (const size of [C - 1, C, C + 1, 2 * C - 1, 2 * C + 1, 3 * MiB + 5]) {
      const key = rnd(16);
      const nonce = rnd(size % 2 === 0 ? 12 : 16);
      const pt = rnd(size);
      const want = nodeSeal(key, nonce, pt);
      const pieces = split(pt, [7, 65536, C - 3, C + 100, 2 * C]);
      const enc = createGcmEncryptStream(key, nonce);
      const r = await runStream(enc, pieces);
      expect(r.error).toBeUndefined();
      expect(r.out.length).toBe(want.length);
      expect(toHex(r.out.subarray(size))).toBe(toHex(want.subarray(size)));
      expect(Buffer.compare(Buffer.from(r.out), Buffer.from(want))).toBe(0);
      expect(toHex(await enc.tag)).toBe(toHex(want.subarray(size)));

      const dec = createGcmDecryptStream(key, nonce);
      const d = await runStream(dec, split(want, [1, C + 5, size, size + 3]));
      expect(d.error).toBeUndefined();
      await expect(dec.verified).resolves.toBeUndefined();
      expect(Buffer.compare(Buffer.from(d.out), Buffer.from(pt))).toBe(0);
    }
  });

  it('random chunkings of the input stream (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 700 }),
        fc.array(fc.nat(720), { maxLength: 12 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(1, 8, 12, 16, 33),
        fc.constantFrom(16, 32),
        fc.constantFrom('seal' as const, 'ctr+ghash' as const),
        async (data, cuts, blocksPerChunk, nonceLen, keyLen, method) => {
          const key = rnd(keyLen);
          const nonce = rnd(nonceLen);
          const pt = new Uint8Array(data) as Bytes;
          const want = nodeSeal(key, nonce, pt);
          const opts = { chunkSize: 16 * blocksPerChunk };
          const enc = new GcmEncryptStream(key, nonce, { ...opts, method });
          const e = await runStream(enc, split(pt, cuts));
          expect(e.error).toBeUndefined();
          expect(toHex(e.out)).toBe(toHex(want));
          const dec = new GcmDecryptStream(key, nonce, opts);
          const d = await runStream(dec, split(want, cuts));
          expect(d.error).toBeUndefined();
          expect(toHex(d.out)).toBe(toHex(pt));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('streaming output equals one-shot WebCrypto output', async () => {
    for (const size of [0, 5, 16, 1000, 300_001]) {
      const key = rnd(16);
      const nonce = rnd(12);
      const pt = rnd(size);
      const oneShot = await gcmEncrypt(key, nonce, pt);
      const r = await runStream(
        createGcmEncryptStream(key, nonce, { chunkSize: 4096 }),
        split(pt, [100, 5000]),
      );
      expect(toHex(r.out)).toBe(toHex(oneShot));
    }
  });

  it('handles the 32-bit counter wrap (crafted 16-byte nonce whose J0 ends in fffffffd)', async () => {
    for (const keyLen of [16, 32]) {
      const key = rnd(keyLen);
      const h = aesBlock(key, bytes(16));
      const target = rnd(16);
      target.set([0xff, 0xff, 0xff, 0xfd], 12);
      // J0 = (N·H ⊕ L)·H for a one-block nonce N  ⇒  N = (J0·H⁻¹ ⊕ L)·H⁻¹
      const hInv = gfInvert(h);
      const nonce = gfMul(xorBlocks(gfMul(target, hInv), lengthBlock(0, 16)), hInv);
      expect(toHex(gcmJ0(h, nonce))).toBe(toHex(target));
      for (const size of [16, 32, 33, 48, 64, 200, 5000]) {
        for (const chunkSize of [16, 48, 4096]) {
          const pt = rnd(size);
          const want = nodeSeal(key, nonce, pt);
          expect(toHex(await gcmEncryptChunked(key, nonce, pt, { chunkSize }))).toBe(toHex(want));
          expect(toHex(await gcmEncryptChunked(key, nonce, pt, { chunkSize, method: 'ctr+ghash' }))).toBe(
            toHex(want),
          );
          expect(toHex(await gcmDecryptChunked(key, nonce, want, { chunkSize }))).toBe(toHex(pt));
        }
      }
    }
  });

  it('never asks WebCrypto AES-CTR to cross the 32-bit counter wrap in one call', async () => {
    const key = rnd(16);
    const h = aesBlock(key, bytes(16));
    const target = rnd(16);
    target.set([0xff, 0xff, 0xff, 0xf0], 12);
    const hInv = gfInvert(h);
    const nonce = gfMul(xorBlocks(gfMul(target, hInv), lengthBlock(0, 16)), hInv);
    const calls: { low: number; blocks: number }[] = [];
    const spy = vi.spyOn(crypto.subtle, 'encrypt');
    try {
      spy.mockImplementation((alg, k, data) => {
        const a = alg as AesCtrParams;
        if (a.name === 'AES-CTR') {
          const c = new DataView((a.counter as Uint8Array).buffer, (a.counter as Uint8Array).byteOffset, 16);
          calls.push({ low: c.getUint32(12), blocks: Math.ceil((data as Uint8Array).byteLength / 16) });
        }
        return realEncrypt(alg, k, data);
      });
      const pt = rnd(100 * 16 + 3);
      const got = await gcmEncryptChunked(key, nonce, pt, { chunkSize: 64 * 16, method: 'ctr+ghash' });
      expect(toHex(got)).toBe(toHex(nodeSeal(key, nonce, pt)));
    } finally {
      spy.mockRestore();
    }
    const data = calls.filter((c) => c.blocks > 2); // skip the H / E_K(J0) setup calls
    expect(data.length).toBeGreaterThanOrEqual(3); // one chunk was split at the wrap
    for (const c of data) expect(c.low + c.blocks).toBeLessThanOrEqual(2 ** 32);
  });
});

describe('incremental classes', () => {
  it('encryptor update/final and decryptor update/final(tag) round trip', async () => {
    const key = rnd(32);
    const nonce = rnd(16);
    const pt = rnd(10_000);
    const enc = await GcmStreamEncryptor.create(key, nonce, { chunkSize: 1024 });
    const parts: Uint8Array[] = [];
    for (const p of split(pt, [3, 1500, 1501, 7000])) parts.push(await enc.update(p));
    const { output, tag } = await enc.final();
    parts.push(output);
    const ct = concatBytes(...parts);
    expect(toHex(concatBytes(ct, tag))).toBe(toHex(nodeSeal(key, nonce, pt)));

    const dec = await GcmStreamDecryptor.create(key, nonce, { chunkSize: 1024 });
    const back: Uint8Array[] = [];
    for (const p of split(ct, [999, 4096])) back.push(await dec.update(p));
    back.push(await dec.final(tag));
    expect(toHex(concatBytes(...back))).toBe(toHex(pt));
  });

  it('refuses use after final, concurrent calls, and bad parameters', async () => {
    const key = rnd(16);
    const nonce = rnd(12);
    const enc = await GcmStreamEncryptor.create(key, nonce);
    await enc.final();
    await expect(enc.update(rnd(3))).rejects.toSatisfy((e: unknown) => isCipherfoldError(e, 'format'));

    const busy = await GcmStreamEncryptor.create(key, nonce, { chunkSize: 16 });
    const first = busy.update(rnd(4096));
    await expect(busy.update(rnd(16))).rejects.toSatisfy((e: unknown) => isCipherfoldError(e, 'format'));
    await first;

    await expect(GcmStreamEncryptor.create(rnd(24), nonce)).rejects.toSatisfy((e: unknown) =>
      isCipherfoldError(e, 'format'),
    );
    await expect(GcmStreamEncryptor.create(key, bytes(0))).rejects.toSatisfy((e: unknown) =>
      isCipherfoldError(e, 'format'),
    );
    await expect(GcmStreamEncryptor.create(key, nonce, { chunkSize: 100 })).rejects.toSatisfy((e: unknown) =>
      isCipherfoldError(e, 'format'),
    );
    expect(() => createGcmDecryptStream(rnd(15), nonce)).toThrow();
  });

  it('a non-binary chunk errors the stream', async () => {
    const r = await runStream(createGcmEncryptStream(rnd(16), rnd(12)), ['abc' as unknown as Uint8Array]);
    expect(isCipherfoldError(r.error, 'format')).toBe(true);
  });
});

describe('authentication failures never report success', () => {
  const key = rnd(16);
  const nonce = rnd(12);
  const pt = rnd(5000);
  const blob = nodeSeal(key, nonce, pt);
  const opts = { chunkSize: 1024 };

  async function expectTagFailure(input: Uint8Array, k: Bytes = key, n: Bytes = nonce): Promise<void> {
    const dec = createGcmDecryptStream(k, n, opts);
    const r = await runStream(dec, split(input, [100, 2048, 3000]));
    expect(isCipherfoldError(r.error, 'tag'), String(r.error)).toBe(true);
    await expect(dec.verified).rejects.toSatisfy((e: unknown) => isCipherfoldError(e, 'tag'));
    // The last piece is withheld: the consumer never sees the complete plaintext.
    expect(r.out.length).toBeLessThan(pt.length);
    // One-shot in-memory path agrees.
    if (input.length >= 16) {
      await expect(gcmDecryptChunked(k, n, input, opts)).rejects.toSatisfy((e: unknown) =>
        isCipherfoldError(e, 'tag'),
      );
    }
  }

  it('flipped ciphertext bits (first, middle, last byte)', async () => {
    for (const pos of [0, 1500, 4999]) {
      const bad = blob.slice();
      bad[pos]! ^= 0x01;
      await expectTagFailure(bad);
    }
  });

  it('flipped tag bits', async () => {
    for (const pos of [5000, 5015]) {
      const bad = blob.slice();
      bad[pos]! ^= 0x80;
      await expectTagFailure(bad);
    }
  });

  it('truncated or extended streams', async () => {
    await expectTagFailure(blob.subarray(0, blob.length - 1));
    await expectTagFailure(blob.subarray(0, blob.length - 16));
    await expectTagFailure(blob.subarray(0, 4096));
    await expectTagFailure(blob.subarray(0, 10));
    await expectTagFailure(concatBytes(blob, new Uint8Array([0])));
  });

  it('wrong key or nonce', async () => {
    await expectTagFailure(blob, rnd(16));
    await expectTagFailure(blob, key, rnd(12));
  });

  it('separate-tag decryptor rejects a wrong or missing tag and withholds the last piece', async () => {
    const dec = await GcmStreamDecryptor.create(key, nonce, opts);
    const first = await dec.update(blob.subarray(0, 5000));
    expect(first.length).toBeLessThan(5000);
    const badTag = blob.slice(5000);
    badTag[0]! ^= 1;
    await expect(dec.final(badTag)).rejects.toSatisfy((e: unknown) => isCipherfoldError(e, 'tag'));
    const dec2 = await GcmStreamDecryptor.create(key, nonce, opts);
    await dec2.update(blob.subarray(0, 5000));
    await expect(dec2.final()).rejects.toSatisfy((e: unknown) => isCipherfoldError(e, 'tag'));
  });

  it('withholds the last piece also when the length is a multiple of the chunk size', async () => {
    const exact = rnd(4096);
    const sealed = nodeSeal(key, nonce, exact);
    sealed[10]! ^= 1;
    const dec = createGcmDecryptStream(key, nonce, opts);
    const r = await runStream(dec, [sealed]);
    expect(isCipherfoldError(r.error, 'tag')).toBe(true);
    expect(r.out.length).toBeLessThan(exact.length);
    const sep = await GcmStreamDecryptor.create(key, nonce, opts);
    const early = await sep.update(sealed.subarray(0, 4096));
    expect(early.length).toBeLessThan(4096);
    await expect(sep.final(sealed.subarray(4096))).rejects.toSatisfy((e: unknown) =>
      isCipherfoldError(e, 'tag'),
    );
  });

  it('uses the caller-supplied tag message', async () => {
    const bad = blob.slice();
    bad[3]! ^= 4;
    const msg = 'Custom. Text. Here.';
    await expect(gcmDecryptChunked(key, nonce, bad, { tagErrorMessage: msg })).rejects.toThrow(msg);
  });
});
