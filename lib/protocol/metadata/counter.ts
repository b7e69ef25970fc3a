/**
 * Counter rules (§6.7, §10.1.6). Readers persist, per folder, the highest counter seen and a fingerprint
 * of the content at that counter; a lower counter is a replay, an equal counter with different content
 * is a forged or rolled-back write. Writers lock with `counter + 1` (+ attempt on persistent 412).
 */
import { toHex, utf8 } from '../../crypto/bytes';
import { sha256 } from '../../crypto/hash';
import { fail } from '../../errors';
import { innerToJson } from './inner';
import type { InnerDocument } from './types';

export interface CounterRecord {
  readonly counter: number;
  /** Hex SHA-256 over the canonical inner document (see `contentFingerprint`). */
  readonly fingerprint: string;
}

function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * Fingerprint of what a document means (not of its bytes): a re-encryption with a new nonce or key leaves it
 * unchanged, any change of names, keys, flags or the counter changes it. Filedrop is not included (it is
 * unsigned and merged by the server without a counter bump).
 */
export async function contentFingerprint(inner: InnerDocument): Promise<string> {
  return toHex(await sha256(utf8(sortedJson(innerToJson(inner)))));
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
