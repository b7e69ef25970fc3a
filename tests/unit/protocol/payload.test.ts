import { createCipheriv, createDecipheriv, randomBytes as nodeRandom } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { concatBytes, toHex, type Bytes } from '../../../lib/crypto/bytes';
import { isCipherfoldError } from '../../../lib/errors';
import {
  PAYLOAD_ONE_SHOT_MAX,
  PAYLOAD_TAG_MESSAGE,
  decryptPayload,
  decryptPayloadStream,
  encryptPayload,
  encryptPayloadStream,
  payloadBlobSize,
  payloadStrategy,
  payloadTag,
} from '../../../lib/protocol/payload';

function rnd(n: number): Bytes {
  return new Uint8Array(nodeRandom(n)) as Bytes;
}

function nodeSeal(key: Uint8Array, nonce: Uint8Array, pt: Uint8Array): Bytes {
  const c = createCipheriv(key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, nonce);
  return new Uint8Array(Buffer.concat([c.update(pt), c.final(), c.getAuthTag()])) as Bytes;
}

function nodeOpen(key: Uint8Array, nonce: Uint8Array, blob: Uint8Array): Bytes {
  const d = createDecipheriv('aes-128-gcm', key, nonce);
  d.setAuthTag(blob.subarray(blob.length - 16));
  return new Uint8Array(Buffer.concat([d.update(blob.subarray(0, blob.length - 16)), d.final()])) as Bytes;
}

async function pipe(ts: TransformStream<Uint8Array, Uint8Array>, data: Uint8Array, piece = 65536) {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let o = 0; o < data.length; o += piece) controller.enqueue(data.slice(o, o + piece));
      controller.close();
    },
  });
  const parts: Uint8Array[] = [];
  let error: unknown;
  try {
    await source.pipeThrough(ts).pipeTo(new WritableStream({ write: (c) => void parts.push(c.slice()) }));
  } catch (e) {
    error = e;
  }
  return { out: concatBytes(...parts), error };
}

const isPayloadTagError = (e: unknown): boolean =>
  isCipherfoldError(e, 'tag') && e.message === PAYLOAD_TAG_MESSAGE;

// Sizes on both sides of the one-shot / chunked switch.
const SIZES = [0, 1, 15, 16, 17, 4096, 1_000_003, PAYLOAD_ONE_SHOT_MAX, PAYLOAD_ONE_SHOT_MAX + 1];

describe('one-shot payload API', () => {
  it('encryptPayload: fresh 16-byte key and 12-byte nonce, blob = ct ‖ tag readable by node:crypto', async () => {
    for (const size of SIZES) {
      const pt = rnd(size);
      const p = await encryptPayload(pt);
      expect(p.key.length).toBe(16);
      expect(p.nonce.length).toBe(12);
      expect(p.blob.length).toBe(payloadBlobSize(size));
      expect(toHex(p.tag)).toBe(toHex(p.blob.subarray(size)));
      expect(Buffer.compare(Buffer.from(nodeOpen(p.key, p.nonce, p.blob)), Buffer.from(pt))).toBe(0);
      expect(Buffer.compare(Buffer.from(await decryptPayload(p.blob, p.key, p.nonce)), Buffer.from(pt))).toBe(
        0,
      );
    }
    const a = await encryptPayload(rnd(10));
    const b = await encryptPayload(rnd(10));
    expect(toHex(a.key)).not.toBe(toHex(b.key));
    expect(toHex(a.nonce)).not.toBe(toHex(b.nonce));
  });

  it('decryptPayload reads blobs from other clients: 12-, 16- and odd-length nonces', async () => {
    for (const nonceLen of [12, 16, 8, 1, 32]) {
      for (const size of [0, 33, 100_000, PAYLOAD_ONE_SHOT_MAX + 17]) {
        const key = rnd(16);
        const nonce = rnd(nonceLen);
        const pt = rnd(size);
        const out = await decryptPayload(nodeSeal(key, nonce, pt), key, nonce);
        expect(Buffer.compare(Buffer.from(out), Buffer.from(pt)), `n${nonceLen} s${size}`).toBe(0);
      }
    }
  });

  it('a damaged blob is a tag error with the catalogue message, on both paths', async () => {
    for (const size of [1000, PAYLOAD_ONE_SHOT_MAX + 1]) {
      const key = rnd(16);
      const nonce = rnd(16);
      const blob = nodeSeal(key, nonce, rnd(size));
      for (const pos of [0, size - 1, size, size + 15]) {
        const bad = blob.slice();
        bad[pos]! ^= 0x20;
        await expect(decryptPayload(bad, key, nonce)).rejects.toSatisfy(isPayloadTagError);
      }
      await expect(decryptPayload(blob.subarray(0, blob.length - 1), key, nonce)).rejects.toSatisfy(
        isPayloadTagError,
      );
      await expect(decryptPayload(blob, rnd(16), nonce)).rejects.toSatisfy(isPayloadTagError);
    }
    await expect(decryptPayload(rnd(15), rnd(16), rnd(12))).rejects.toSatisfy(isPayloadTagError);
    expect(() => payloadTag(rnd(3))).toThrow(PAYLOAD_TAG_MESSAGE);
  });

  it('rejects malformed keys and nonces as metadata errors', async () => {
    await expect(decryptPayload(rnd(40), rnd(15), rnd(12))).rejects.toSatisfy((e: unknown) =>
      isCipherfoldError(e, 'metadata'),
    );
    await expect(decryptPayload(rnd(40), rnd(16), rnd(0))).rejects.toSatisfy((e: unknown) =>
      isCipherfoldError(e, 'metadata'),
    );
  });

  it('payloadStrategy: small known sizes one-shot, large or unknown sizes streamed', () => {
    expect(payloadStrategy(0)).toBe('one-shot');
    expect(payloadStrategy(PAYLOAD_ONE_SHOT_MAX)).toBe('one-shot');
    expect(payloadStrategy(PAYLOAD_ONE_SHOT_MAX + 1)).toBe('stream');
    expect(payloadStrategy(undefined)).toBe('stream');
    expect(payloadStrategy(Number.NaN)).toBe('stream');
    expect(payloadStrategy(100, 16)).toBe('one-shot');
    expect(payloadStrategy(100, 8)).toBe('stream');
  });
});

describe('streaming payload API', () => {
  it('encryptPayloadStream output is a valid blob; tag promise = trailing 16 bytes', async () => {
    for (const size of [0, 17, 3 * 1024 * 1024 + 7]) {
      const pt = rnd(size);
      const enc = encryptPayloadStream();
      expect(enc.key.length).toBe(16);
      expect(enc.nonce.length).toBe(12);
      const r = await pipe(enc.stream, pt, 50_000);
      expect(r.error).toBeUndefined();
      expect(r.out.length).toBe(payloadBlobSize(size));
      expect(toHex(await enc.tag)).toBe(toHex(r.out.subarray(size)));
      expect(Buffer.compare(Buffer.from(nodeOpen(enc.key, enc.nonce, r.out)), Buffer.from(pt))).toBe(0);
    }
  });

  it('decryptPayloadStream decrypts node-made blobs (12- and 16-byte nonces)', async () => {
    for (const nonceLen of [12, 16]) {
      const key = rnd(16);
      const nonce = rnd(nonceLen);
      const pt = rnd(2 * 1024 * 1024 + 999);
      const dec = decryptPayloadStream(key, nonce);
      const r = await pipe(dec, nodeSeal(key, nonce, pt), 12_345);
      expect(r.error).toBeUndefined();
      await expect(dec.verified).resolves.toBeUndefined();
      expect(Buffer.compare(Buffer.from(r.out), Buffer.from(pt))).toBe(0);
    }
  });

  it('a damaged or truncated blob errors the stream with the catalogue message', async () => {
    const key = rnd(16);
    const nonce = rnd(12);
    const pt = rnd(3 * 1024 * 1024);
    const blob = nodeSeal(key, nonce, pt);
    const variants = [blob.slice(), blob.subarray(0, blob.length - 5), blob.subarray(0, 2 * 1024 * 1024)];
    variants[0]![1234]! ^= 1;
    for (const bad of variants) {
      const dec = decryptPayloadStream(key, nonce);
      const r = await pipe(dec, bad);
      expect(isPayloadTagError(r.error), String(r.error)).toBe(true);
      await expect(dec.verified).rejects.toSatisfy(isPayloadTagError);
      expect(r.out.length).toBeLessThan(pt.length);
    }
  });
});
