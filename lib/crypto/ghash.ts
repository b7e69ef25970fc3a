/**
 * GF(2^128) arithmetic in AES-GCM's bit order (NIST SP 800-38D §6.3) and a small pure-JS GHASH.
 *
 * Used by `gcm-stream.ts` for the few field operations it needs per chunk (combining per-chunk GHASH
 * values computed by WebCrypto) and for deriving J0 from nonces that are not 12 bytes long. It is not
 * meant for bulk data: one multiplication is 128 shift/xor steps.
 *
 * Bit order: a block is 16 bytes; bit 0 is the most significant bit of byte 0 and is the coefficient
 * of x^0. The multiplicative identity is therefore 0x80 00 … 00. Reduction polynomial
 * x^128 + x^7 + x^2 + x + 1, i.e. R = 0xe1 ‖ 0^120.
 */
import { fail } from '../errors';
import { bytes, type Bytes } from './bytes';

export const GF_BLOCK = 16;

/** The multiplicative identity (x^0). */
export function gfOne(): Bytes {
  const one = bytes(16);
  one[0] = 0x80;
  return one;
}

function checkBlock(b: Uint8Array): void {
  if (b.length !== 16)
    throw fail('format', 'A GF(2^128) element must be 16 bytes. This is a programming error.');
}

function word(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function putWord(b: Uint8Array, i: number, w: number): void {
  b[i] = w >>> 24;
  b[i + 1] = (w >>> 16) & 0xff;
  b[i + 2] = (w >>> 8) & 0xff;
  b[i + 3] = w & 0xff;
}

/**
 * x · y in GF(2^128), SP 800-38D Algorithm 1. Branch-free on the operands' bits (masks instead of
 * conditionals), which is as close to constant time as plain JavaScript gets.
 */
export function gfMul(x: Uint8Array, y: Uint8Array): Bytes {
  checkBlock(x);
  checkBlock(y);
  let z0 = 0;
  let z1 = 0;
  let z2 = 0;
  let z3 = 0;
  let v0 = word(y, 0);
  let v1 = word(y, 4);
  let v2 = word(y, 8);
  let v3 = word(y, 12);
  for (let i = 0; i < 128; i++) {
    const m = -((x[i >> 3]! >>> (7 - (i & 7))) & 1);
    z0 ^= v0 & m;
    z1 ^= v1 & m;
    z2 ^= v2 & m;
    z3 ^= v3 & m;
    const r = -(v3 & 1) & 0xe1000000;
    v3 = (v3 >>> 1) | (v2 << 31);
    v2 = (v2 >>> 1) | (v1 << 31);
    v1 = (v1 >>> 1) | (v0 << 31);
    v0 = (v0 >>> 1) ^ r;
  }
  const out = bytes(16);
  putWord(out, 0, z0);
  putWord(out, 4, z1);
  putWord(out, 8, z2);
  putWord(out, 12, z3);
  return out;
}

/** x^e for a non-negative safe integer e (square and multiply; e is public, e.g. a block count). */
export function gfPow(x: Uint8Array, e: number): Bytes {
  checkBlock(x);
  if (!Number.isSafeInteger(e) || e < 0) {
    throw fail('format', 'A GF(2^128) exponent must be a non-negative integer. This is a programming error.');
  }
  let result = gfOne();
  let base: Bytes = bytes(16);
  base.set(x);
  let n = e;
  while (n > 0) {
    if (n % 2 === 1) result = gfMul(result, base);
    n = Math.floor(n / 2);
    if (n > 0) base = gfMul(base, base);
  }
  return result;
}

/** x^-1 = x^(2^128 - 2) (Fermat). The inverse of 0 is returned as 0. */
export function gfInvert(x: Uint8Array): Bytes {
  checkBlock(x);
  // 2^128 - 2 in binary is 127 ones followed by one zero; left-to-right square and multiply.
  let r = gfOne();
  for (let i = 0; i < 127; i++) r = gfMul(gfMul(r, r), x);
  return gfMul(r, r);
}

export function xorBlocks(a: Uint8Array, b: Uint8Array): Bytes {
  checkBlock(a);
  checkBlock(b);
  const out = bytes(16);
  for (let i = 0; i < 16; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function put64(out: Uint8Array, offset: number, v: number): void {
  putWord(out, offset, Math.floor(v / 0x100000000) >>> 0);
  putWord(out, offset + 4, v >>> 0);
}

/** GCM's length block: [8·aadBytes]_64 ‖ [8·ciphertextBytes]_64. */
export function lengthBlock(aadBytes: number, ciphertextBytes: number): Bytes {
  if (!Number.isSafeInteger(aadBytes * 8) || !Number.isSafeInteger(ciphertextBytes * 8)) {
    throw fail('unsupported', 'A length is too large for AES-GCM. The data cannot be processed.');
  }
  const out = bytes(16);
  put64(out, 0, aadBytes * 8);
  put64(out, 8, ciphertextBytes * 8);
  return out;
}

/**
 * Horner evaluation Y_i = (Y_{i-1} ⊕ X_i) · H over `data` zero-padded to whole blocks, starting from
 * `y` (default 0). No length block is appended: callers add it (see `gcmJ0`).
 */
export function ghash(h: Uint8Array, data: Uint8Array, y?: Uint8Array): Bytes {
  let acc: Bytes = bytes(16);
  if (y) acc.set(y);
  const block = bytes(16);
  for (let o = 0; o < data.length; o += 16) {
    block.fill(0);
    block.set(data.subarray(o, Math.min(data.length, o + 16)));
    for (let i = 0; i < 16; i++) block[i] = block[i]! ^ acc[i]!;
    acc = gfMul(block, h);
  }
  return acc;
}

/**
 * The pre-counter block J0 (SP 800-38D §7.1 step 2): nonce ‖ 0^31 ‖ 1 for 12-byte nonces, otherwise
 * GHASH_H(nonce ‖ zero pad ‖ 0^64 ‖ [bitlen(nonce)]_64).
 */
export function gcmJ0(h: Uint8Array, nonce: Uint8Array): Bytes {
  if (nonce.length < 1) throw fail('format', 'An encryption nonce is empty. The data may be damaged.');
  if (nonce.length === 12) {
    const j0 = bytes(16);
    j0.set(nonce);
    j0[15] = 1;
    return j0;
  }
  return ghash(h, lengthBlock(0, nonce.length), ghash(h, nonce));
}
