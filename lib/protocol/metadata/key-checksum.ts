/**
 * Metadata-key checksums (§6.5): 64 lowercase hex digits of SHA-256 over the raw 16-byte key.
 *
 * Comparison is tolerant of case and of Android's stripped leading zeros (G-6); history checks (§10.1.5)
 * report checksums that disappeared (iOS may rewrite the list, G-7, so the caller decides warning vs error).
 */
import { toHex, type Bytes } from '../../crypto/bytes';
import { sha256 } from '../../crypto/hash';
import { checkMetadataKey } from './v2-crypto';

/** 64 lowercase hex digits. */
export async function keyChecksum(metadataKey: Bytes): Promise<string> {
  checkMetadataKey(metadataKey);
  return toHex(await sha256(metadataKey));
}

/**
 * Canonical comparison form: lowercase, leading zeros removed, so "00ab…" (web/desktop) and "ab…" (Android
 * G-6) compare equal. Undefined for text that is not 1–64 hex digits (such entries never match).
 */
export function normaliseChecksum(s: string): string | undefined {
  const t = s.trim().toLowerCase();
  if (!/^[0-9a-f]{1,64}$/.test(t)) return undefined;
  const stripped = t.replace(/^0+/, '');
  return stripped === '' ? '0' : stripped;
}

export function checksumsEqual(a: string, b: string): boolean {
  const x = normaliseChecksum(a);
  return x !== undefined && x === normaliseChecksum(b);
}

export function checksumListContains(list: readonly string[], checksum: string): boolean {
  const c = normaliseChecksum(checksum);
  if (c === undefined) return false;
  return list.some((e) => normaliseChecksum(e) === c);
}

/** True when some entry is shorter than 64 digits (Android-style, G-6). */
export function hasShortChecksums(list: readonly string[]): boolean {
  return list.some((e) => e.trim().length < 64);
}

/** True when the list holds the same checksum twice (iOS, G-7). */
export function hasDuplicateChecksums(list: readonly string[]): boolean {
  const seen = new Set<string>();
  for (const e of list) {
    const n = normaliseChecksum(e) ?? e;
    if (seen.has(n)) return true;
    seen.add(n);
  }
  return false;
}

/** Checksums from `history` (seen before for this root) that `current` no longer lists. */
export function missingFromHistory(current: readonly string[], history: readonly string[]): string[] {
  return history.filter((h) => !checksumListContains(current, h));
}

/** History to persist after a successful read: old history plus any new entries, 64-hex lowercase. */
export function mergeChecksumHistory(history: readonly string[], current: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const e of [...history, ...current]) {
    const n = normaliseChecksum(e);
    if (n === undefined || seen.has(n)) continue;
    seen.add(n);
    out.push(n.padStart(64, '0'));
  }
  return out;
}
