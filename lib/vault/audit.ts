/**
 * Hash chain of the audit log. Each account has its own chain (so removing an account removes a whole
 * chain and never breaks another one). Hashing is synchronous (@noble/hashes) because it runs inside
 * an IndexedDB transaction, which would auto-commit while awaiting WebCrypto.
 *
 *   hash = hex(SHA-256(utf8(canonicalJson({ v: 1, accountId, seq, at, event, prev }))))
 *
 * The chain detects edits, deletions in the middle and reordering of stored entries. It cannot detect
 * truncation of the newest entries by someone with write access to the profile (nothing local can);
 * see docs/vault.md.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { fail } from '../errors';
import { toHex, utf8 } from '../crypto/bytes';
import type { AccountId, AuditEntry, AuditEvent, AuditReadResult } from './types';

export const GENESIS_HASH = '0'.repeat(64);

/** Stable JSON: sorted object keys; only plain JSON values (what audit events are). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw fail(
        'internal',
        'An audit value is not a finite number. This is a bug in Cipherfold. Please report it.',
      );
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  throw fail(
    'internal',
    'An audit value has an unsupported type. This is a bug in Cipherfold. Please report it.',
  );
}

export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const body = canonicalJson({
    v: 1,
    accountId: e.accountId,
    seq: e.seq,
    at: e.at,
    event: e.event,
    prev: e.prev,
  });
  return toHex(sha256(utf8(body)));
}

export function makeEntry(
  accountId: AccountId,
  previous: AuditEntry | undefined,
  at: number,
  event: AuditEvent,
): AuditEntry {
  const base = {
    accountId,
    seq: previous ? previous.seq + 1 : 1,
    at,
    event,
    prev: previous ? previous.hash : GENESIS_HASH,
  };
  return { ...base, hash: entryHash(base) };
}

/** Verifies a chain (entries in seq order, as stored). */
export function verifyChain(accountId: AccountId, entries: AuditEntry[]): AuditReadResult {
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  for (const e of entries) {
    if (e.accountId !== accountId || e.seq !== expectedSeq || e.prev !== prev || entryHash(e) !== e.hash) {
      return { intact: false, entries, firstBadSeq: e.seq };
    }
    prev = e.hash;
    expectedSeq++;
  }
  return { intact: true, entries };
}

const SECRETISH = /^(words?|mnemonic|password|appPassword|privateKey|pkcs8|secret|key)$/i;

/**
 * Defence in depth against a future event type carrying a secret: events must be flat objects of
 * short strings, numbers and booleans, and no field may be named like a secret.
 */
export function assertAuditEventIsSafe(event: AuditEvent): void {
  for (const [k, v] of Object.entries(event)) {
    const ok =
      !SECRETISH.test(k) &&
      (typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.length <= 512));
    if (!ok) {
      throw fail(
        'internal',
        'An audit event has a field that is not allowed. This is a bug in Cipherfold. Please report it.',
        {
          detail: `field ${k}`,
        },
      );
    }
  }
}
