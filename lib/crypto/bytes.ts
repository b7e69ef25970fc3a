/** Byte helpers: UTF-8, hex, base64 (standard alphabet), concatenation, constant-time compare. */
import { fail } from '../errors';

/** A Uint8Array backed by a plain ArrayBuffer, as WebCrypto's BufferSource wants under TS >= 5.7. */
export type Bytes = Uint8Array<ArrayBuffer>;

const encoder = new TextEncoder();
const decoderStrict = new TextDecoder('utf-8', { fatal: true });

export function utf8(s: string): Bytes {
  return encoder.encode(s) as Bytes;
}

export function fromUtf8(b: Uint8Array): string {
  try {
    return decoderStrict.decode(b);
  } catch (e) {
    throw fail('format', 'Some data is not valid UTF-8 text. It may be damaged. Try again or report it.', {
      cause: e,
    });
  }
}

export function bytes(n: number): Bytes {
  return new Uint8Array(new ArrayBuffer(n));
}

export function copyBytes(b: Uint8Array): Bytes {
  const out = bytes(b.length);
  out.set(b);
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Bytes {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = bytes(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function randomBytes(n: number): Bytes {
  const out = bytes(n);
  // getRandomValues is limited to 65536 bytes per call.
  for (let o = 0; o < n; o += 65536) crypto.getRandomValues(out.subarray(o, Math.min(n, o + 65536)));
  return out;
}

const HEX = '0123456789abcdef';

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += HEX[x >> 4]! + HEX[x & 15]!;
  return s;
}

export function fromHex(s: string): Bytes {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw fail('format', 'A hexadecimal value is malformed. The data may be damaged.');
  }
  const out = bytes(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Standard base64 with padding, no line breaks. */
export function toBase64(b: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    s += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  const rest = b.length - i;
  if (rest === 1) {
    const n = b[i]! << 16;
    s += B64[n >> 18]! + B64[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8);
    s += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + '=';
  }
  return s;
}

/**
 * Lenient base64 reader: ignores whitespace, accepts missing padding and the URL-safe alphabet.
 * Rejects any other character, misplaced padding, or an impossible length.
 */
export function fromBase64(input: string, what = 'A base64 value'): Bytes {
  const s = input.replace(/[\s]/g, '').replace(/-/g, '+').replace(/_/g, '/');
  const unpadded = s.replace(/={1,2}$/, '');
  if (unpadded.length % 4 === 1 || /=/.test(unpadded)) {
    throw fail('format', `${what} is not valid base64. The data may be damaged.`);
  }
  const out = bytes(Math.floor((unpadded.length * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < unpadded.length; i++) {
    const c = unpadded.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c]! : -1;
    if (v < 0) throw fail('format', `${what} is not valid base64. The data may be damaged.`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** True if the string is strict base64 (standard alphabet, correct padding). */
export function isStrictBase64(s: string): boolean {
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
