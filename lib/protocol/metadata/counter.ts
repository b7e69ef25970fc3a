/**
 * Counter rules (§6.7, §10.1.6). Readers persist, per folder, the highest counter seen and a fingerprint
 * of the content at that counter; a lower counter is a replay, an equal counter with different content
 * is a forged or rolled-back write. Writers lock with `counter + 1` (+ attempt on persistent 412).
 */
import { toHex } from '../../crypto/bytes';
import { sha256 } from '../../crypto/hash';
import { fail } from '../../errors';
import type { InnerDocument } from './types';

export interface CounterRecord {
  readonly counter: number;
  /** Hex SHA-256 over a canonical form of the inner document (see `contentFingerprint`). */
  readonly fingerprint: string;
}

/** Length-prefixed byte writer (cheap canonical encoding for the fingerprint). */
class FingerprintWriter {
  private buf = new Uint8Array(1 << 16);
  private len = 0;
  private readonly encoder = new TextEncoder();

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private u32(n: number): void {
    this.ensure(4);
    const b = this.buf;
    const o = this.len;
    b[o] = n >>> 24;
    b[o + 1] = (n >>> 16) & 0xff;
    b[o + 2] = (n >>> 8) & 0xff;
    b[o + 3] = n & 0xff;
    this.len += 4;
  }

  bytes(b: Uint8Array | undefined): void {
    if (b === undefined) return this.u32(0xffffffff);
    this.u32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  text(s: string): void {
    this.ensure(4 + s.length * 3);
    const at = this.len;
    this.len += 4;
    let written = 0;
    let ascii = true;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        ascii = false;
        break;
      }
      this.buf[this.len + i] = c;
    }
    if (ascii) written = s.length;
    else written = this.encoder.encodeInto(s, this.buf.subarray(this.len)).written;
    this.len = at;
    this.u32(written);
    this.len += written;
  }

  result(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.len);
  }
}

/**
 * Fingerprint of what a document means (not of its bytes): a re-encryption with a new nonce or key leaves it
 * unchanged, any change of names, keys, flags or the counter changes it. Filedrop is not included (it is
 * unsigned and merged by the server without a counter bump). Built directly from the typed document (ids
 * sorted, fields in a fixed order, length-prefixed) so it stays cheap for folders with 10,000+ entries.
 */
export async function contentFingerprint(inner: InnerDocument): Promise<string> {
  const w = new FingerprintWriter();
  w.text('cipherfold-fingerprint-v1');
  w.text(String(inner.counter));
  w.text(inner.deleted ? '1' : '0');
  w.text(inner.keyChecksums === undefined ? '-' : inner.keyChecksums.join(','));
  const folderIds = [...inner.folders.keys()].sort();
  w.text(String(folderIds.length));
  for (const id of folderIds) {
    w.text(id.toLowerCase());
    w.text(inner.folders.get(id)!);
  }
  const fileIds = [...inner.files.keys()].sort();
  w.text(String(fileIds.length));
  for (const id of fileIds) {
    const f = inner.files.get(id)!;
    w.text(id.toLowerCase());
    w.text(f.filename);
    w.text(f.mimetype);
    w.bytes(f.key);
    w.bytes(f.nonce);
    w.bytes(f.authenticationTag);
  }
  return toHex(await sha256(w.result()));
}

/**
 * Checks `counter` against the stored record. Returns the record to persist. Throws `counter` when the
 * document went backwards, or kept its counter while its content changed.
 */
export function checkCounter(
  stored: CounterRecord | undefined,
  current: CounterRecord,
): { record: CounterRecord; unchanged: boolean } {
  if (!Number.isSafeInteger(current.counter) || current.counter < 0) {
    throw fail('metadata', 'The folder metadata counter is not a non-negative integer. It is damaged.');
  }
  if (stored === undefined) return { record: current, unchanged: false };
  if (current.counter < stored.counter) {
    throw fail(
      'counter',
      `The folder metadata is older than a version this device has already seen (counter ${current.counter} < ${stored.counter}). The server may be replaying old data. Do not trust this folder's contents; contact your administrator.`,
    );
  }
  if (current.counter === stored.counter) {
    if (current.fingerprint !== stored.fingerprint) {
      throw fail(
        'counter',
        `The folder metadata changed without its counter increasing (counter ${current.counter}). It may have been replaced by the server or an old copy. Do not trust this folder's contents; contact your administrator.`,
      );
    }
    return { record: stored, unchanged: true };
  }
  return { record: current, unchanged: false };
}

/** Counter for the next lock / inner document (§6.7): inner + 1, plus `attempt` for persistent 412 answers. */
export function nextCounter(currentInnerCounter: number, attempt = 0): number {
  const c = currentInnerCounter + 1 + Math.max(0, Math.floor(attempt));
  if (!Number.isSafeInteger(c))
    throw fail('metadata', 'The folder metadata counter overflowed. It is damaged.');
  return c;
}
