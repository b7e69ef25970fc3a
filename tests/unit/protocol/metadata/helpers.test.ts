import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import {
  checksumListContains,
  checksumsEqual,
  decryptInnerDocument,
  encryptInnerDocument,
  keyChecksum,
  mergeChecksumHistory,
  missingFromHistory,
  nextCounter,
  normaliseChecksum,
  splitCiphertext,
  type InnerDocument,
} from '../../../../lib/protocol/metadata';
import type { Bytes } from '../../../../lib/crypto/bytes';

const key = () => new Uint8Array(randomBytes(16)) as Bytes;
const empty: InnerDocument = {
  counter: 1,
  deleted: false,
  keyChecksums: undefined,
  folders: new Map(),
  files: new Map(),
};

describe('key checksums', () => {
  it('64 lowercase hex of SHA-256 over the raw key (cross-checked with Node)', async () => {
    const k = key();
    expect(await keyChecksum(k)).toBe(createHash('sha256').update(k).digest('hex'));
    await expect(keyChecksum(new Uint8Array(15) as Bytes)).rejects.toMatchObject({ kind: 'metadata' });
  });
  it('compares case-insensitively and ignores leading zeros; junk never matches', () => {
    const full = '000f' + 'a'.repeat(60);
    expect(checksumsEqual(full, 'F' + 'A'.repeat(60))).toBe(true);
    expect(checksumsEqual(full, 'f' + 'a'.repeat(59))).toBe(false);
    expect(normaliseChecksum('xyz')).toBeUndefined();
    expect(checksumListContains(['zz', ''], 'zz')).toBe(false);
    expect(missingFromHistory(['F' + 'A'.repeat(60)], [full, 'b'.repeat(64)])).toEqual(['b'.repeat(64)]);
    expect(mergeChecksumHistory([full], ['f' + 'a'.repeat(60), 'C'.repeat(64)])).toEqual([
      full,
      'c'.repeat(64),
    ]);
  });
});

describe('inner encryption', () => {
  it('writes 12-byte nonces by default; desktop-style 16-byte nonce + suffix on request; reads both', async () => {
    const k = key();
    const web = await encryptInnerDocument(empty, k);
    expect(Buffer.from(web.nonce, 'base64')).toHaveLength(12);
    expect(web.ciphertext).not.toContain('|');
    const desk = await encryptInnerDocument(empty, k, { nonceLength: 16, appendNonceSuffix: true });
    expect(splitCiphertext(desk.ciphertext).suffix).toBe(desk.nonce);
    for (const m of [web, desk]) expect((await decryptInnerDocument(m, k)).inner.counter).toBe(1);
  });
  it('nonce member and suffix disagree: reported, and the one that works is used', async () => {
    const k = key();
    const m = await encryptInnerDocument(empty, k);
    const wrong = randomBytes(12).toString('base64');
    const r1 = await decryptInnerDocument({ ...m, ciphertext: `${m.ciphertext}|${wrong}` }, k);
    expect(r1.warnings.map((x) => x.code)).toEqual(['nonce-mismatch']);
    const r2 = await decryptInnerDocument(
      { ...m, nonce: wrong, ciphertext: `${m.ciphertext}|${m.nonce}` },
      k,
    );
    expect(r2.inner.counter).toBe(1);
    await expect(decryptInnerDocument({ ...m, nonce: wrong }, k)).rejects.toMatchObject({ kind: 'tag' });
  });
});

describe('counter helper', () => {
  it('next lock counter is inner + 1 (+ attempt on persistent 412)', () => {
    expect(nextCounter(0)).toBe(1);
    expect(nextCounter(5, 2)).toBe(8);
    expect(() => nextCounter(Number.MAX_SAFE_INTEGER)).toThrow();
  });
});
