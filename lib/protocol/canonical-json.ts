/**
 * JSON serialisations of the outer metadata document that signatures cover (protocol.md §6.8.1, §6.8.2).
 *
 * - `canonicalJson`: members sorted by key (code-unit order, like `Array.prototype.sort`), recursively;
 *   arrays in order; no whitespace; scalars escaped exactly like `JSON.stringify` (so `/` and non-ASCII are
 *   not escaped). This equals the web client's stable stringify and desktop/iOS output.
 * - `storedOrderJson`: compact, members in the order of the parsed object. LIMITATION: JavaScript objects
 *   enumerate integer-like keys ("0", "17", …) first in ascending numeric order, whatever their position in
 *   the text, so for such keys the "stored order" cannot be reproduced from a `JSON.parse` result. Metadata
 *   documents have no integer-like keys at the levels that are signed (filedrop, the only map keyed by ids,
 *   is removed before signing; see also G-34).
 */
import { fail } from '../errors';
import { toBase64, utf8, type Bytes } from '../crypto/bytes';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const MAX_DEPTH = 64;

function serialise(value: Json, sortKeys: boolean, depth: number): string {
  if (depth > MAX_DEPTH) {
    throw fail(
      'metadata',
      'The metadata is nested too deeply. It may be hostile or damaged. Ask the owner to re-create the folder.',
    );
  }
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw fail('format', 'A JSON number is not finite. The data may be damaged.');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return (
      '[' + value.map((v) => (v === undefined ? 'null' : serialise(v, sortKeys, depth + 1))).join(',') + ']'
    );
  }
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    if (sortKeys) keys.sort();
    const parts: string[] = [];
    for (const k of keys) {
      const v = value[k];
      if (v === undefined) continue; // like JSON.stringify
      parts.push(JSON.stringify(k) + ':' + serialise(v, sortKeys, depth + 1));
    }
    return '{' + parts.join(',') + '}';
  }
  throw fail('format', 'A value cannot be represented as JSON. This is a bug; please report it.');
}

export function canonicalJson(value: Json): string {
  return serialise(value, true, 0);
}

export function storedOrderJson(value: Json): string {
  return serialise(value, false, 0);
}

function isObject(v: Json | undefined): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets an own enumerable member, also for the key "__proto__" (plain assignment would set the prototype). */
function put(o: { [k: string]: Json }, k: string, v: Json): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** `doc` without the top-level `filedrop` member (order of the remaining members kept). */
function withoutFiledrop(doc: { [k: string]: Json }): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const k of Object.keys(doc)) if (k !== 'filedrop') put(out, k, doc[k]!);
  return out;
}

/** Desktop variant: additionally strip `encryptedFiledropKey` from every `users[]` entry. Null if no change. */
function withoutFiledropKeys(doc: { [k: string]: Json }): { [k: string]: Json } | null {
  const users = doc['users'];
  if (!Array.isArray(users) || !users.some((u) => isObject(u) && 'encryptedFiledropKey' in u)) return null;
  const out: { [k: string]: Json } = {};
  for (const k of Object.keys(doc)) {
    if (k !== 'users') {
      put(out, k, doc[k]!);
      continue;
    }
    put(
      out,
      k,
      users.map((u) => {
        if (!isObject(u)) return u;
        const copy: { [k: string]: Json } = {};
        for (const uk of Object.keys(u)) if (uk !== 'encryptedFiledropKey') put(copy, uk, u[uk]!);
        return copy;
      }),
    );
  }
  return out;
}

/** The exact CMS content for one serialisation: ASCII bytes of base64(UTF-8(json)). */
export function signedContentOf(json: string): Bytes {
  return utf8(toBase64(utf8(json)));
}

/**
 * The byte strings a metadata signature may cover, most likely first: sorted form (filedrop removed), sorted
 * form without users[].encryptedFiledropKey (desktop), then the same two in stored key order (Android/Gson).
 * Duplicates are dropped, so for a well-formed document there are one or two candidates.
 */
export function signedContentCandidates(outerDocument: { [k: string]: Json }): Bytes[] {
  if (!isObject(outerDocument)) {
    throw fail(
      'metadata',
      'The metadata document is not a JSON object. It may be damaged. Ask the owner to re-create the folder.',
    );
  }
  const base = withoutFiledrop(outerDocument);
  const stripped = withoutFiledropKeys(base);
  const texts = [canonicalJson(base)];
  if (stripped) texts.push(canonicalJson(stripped));
  texts.push(storedOrderJson(base));
  if (stripped) texts.push(storedOrderJson(stripped));
  return [...new Set(texts)].map(signedContentOf);
}
