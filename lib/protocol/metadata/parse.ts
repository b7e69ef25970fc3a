/**
 * Tolerant parsing of the outer metadata document (§6.1, §7): whitespace, member order and PHP's `\/`
 * escaping do not matter; version "2"/"2.0"/"2.1" or numeric; `users` missing or empty → sub-folder (G-15);
 * `filedrop` `{}` / `[]` / null → empty. Unknown versions and structural damage are `metadata` errors.
 */
import { fail } from '../../errors';
import { hasMember, isObject, member, parseJsonText, type JsonObject } from './json';
import {
  asUserId,
  warning,
  type EncryptedMetadataMember,
  type MetadataUser,
  type MetadataWarning,
  type ParsedMetadata,
  type ParsedV1,
  type RawFiledropEntry,
  type V1FileRecord,
  type V1Version,
  type V2Version,
} from './types';

const BAD =
  'The folder metadata has an unexpected structure. It may be damaged or written by an incompatible client.';

/** Normalises a 2.x outer `version`; undefined if it is not one we read. */
export function normaliseV2Version(v: unknown): V2Version | undefined {
  if (typeof v === 'number') {
    if (v === 2) return '2.0';
    if (v === 2.1) return '2.1';
    return undefined;
  }
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (s === '2' || s === '2.0') return '2.0';
  if (s === '2.1') return '2.1';
  return undefined;
}

/** Normalises a 1.x `metadata.version` (§7): 1/1.0/1.1 → "1.0", 1.2 → "1.2". */
export function normaliseV1Version(v: unknown): V1Version | undefined {
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : undefined;
  if (s === '1' || s === '1.0' || s === '1.1') return '1.0';
  if (s === '1.2') return '1.2';
  return undefined;
}

function unsupportedVersion(): never {
  throw fail(
    'metadata',
    'The folder metadata has a version this Cipherfold does not support. It may be written by a newer client. Update Cipherfold or open the folder with an official client.',
  );
}

function requireString(v: unknown, what: string): string {
  if (typeof v !== 'string') throw fail('metadata', `${BAD} (${what} is missing or not text.)`);
  return v;
}

function optionalString(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  return requireString(v, what);
}

function parseMetadataMember(o: JsonObject): EncryptedMetadataMember {
  const m = member(o, 'metadata');
  if (!isObject(m)) throw fail('metadata', `${BAD} (The metadata member is missing.)`);
  const ciphertext = requireString(member(m, 'ciphertext'), 'ciphertext');
  const nonce = optionalString(member(m, 'nonce'), 'nonce');
  const authenticationTag = optionalString(member(m, 'authenticationTag'), 'authenticationTag');
  if (ciphertext.length === 0) throw fail('metadata', `${BAD} (The ciphertext is empty.)`);
  if ((nonce === undefined || nonce === '') && !ciphertext.includes('|')) {
    throw fail('metadata', `${BAD} (The nonce is missing.)`);
  }
  return { ciphertext, nonce: nonce === '' ? undefined : nonce, authenticationTag };
}

function parseUsers(v: unknown): MetadataUser[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw fail('metadata', `${BAD} (users is not a list.)`);
  const seen = new Set<string>();
  return v.map((u: unknown) => {
    if (!isObject(u)) throw fail('metadata', `${BAD} (A users entry is not an object.)`);
    const userId = requireString(member(u, 'userId'), 'userId');
    if (userId.length === 0) throw fail('metadata', `${BAD} (A user id is empty.)`);
    if (seen.has(userId)) throw fail('metadata', `${BAD} (A user is listed twice.)`);
    seen.add(userId);
    return {
      userId: asUserId(userId),
      certificate: requireString(member(u, 'certificate'), 'certificate'),
      encryptedMetadataKey: requireString(member(u, 'encryptedMetadataKey'), 'encryptedMetadataKey'),
    };
  });
}

function parseFiledrop(v: unknown, warnings: MetadataWarning[]): Map<string, RawFiledropEntry> {
  const out = new Map<string, RawFiledropEntry>();
  if (v === undefined || v === null) return out;
  if (Array.isArray(v)) {
    if (v.length > 0) {
      warnings.push(
        warning('filedrop-malformed', 'The filedrop list has an unexpected shape and was ignored.'),
      );
    }
    return out;
  }
  if (!isObject(v)) {
    warnings.push(
      warning('filedrop-malformed', 'The filedrop member has an unexpected shape and was ignored.'),
    );
    return out;
  }
  for (const [id, e] of Object.entries(v)) {
    if (isObject(e)) out.set(id, e);
    else warnings.push(warning('filedrop-malformed', 'A filedrop entry that is not an object was ignored.'));
  }
  return out;
}

function parseV1(o: JsonObject, m: JsonObject, version: V1Version): ParsedV1 {
  const metadataKeys = new Map<number, string>();
  const keysRaw = member(m, 'metadataKeys');
  if (isObject(keysRaw)) {
    for (const [k, v] of Object.entries(keysRaw)) {
      if (!/^\d{1,9}$/.test(k)) throw fail('metadata', `${BAD} (A metadata key index is not a number.)`);
      metadataKeys.set(Number(k), requireString(v, 'metadataKeys entry'));
    }
  } else if (Array.isArray(keysRaw)) {
    keysRaw.forEach((v: unknown, i) => metadataKeys.set(i, requireString(v, 'metadataKeys entry')));
  } else if (keysRaw !== undefined && keysRaw !== null) {
    throw fail('metadata', `${BAD} (metadataKeys has an unexpected shape.)`);
  }
  const metadataKey = optionalString(member(m, 'metadataKey'), 'metadataKey');
  if (metadataKeys.size === 0 && metadataKey === undefined) {
    throw fail('metadata', `${BAD} (No encrypted metadata key.)`);
  }
  const checksumRaw = member(m, 'checksum');
  const checksum = typeof checksumRaw === 'string' && checksumRaw.length > 0 ? checksumRaw : undefined;

  const files: V1FileRecord[] = [];
  const filesRaw = member(o, 'files');
  if (isObject(filesRaw)) {
    for (const [id, f] of Object.entries(filesRaw)) {
      if (!isObject(f)) throw fail('metadata', `${BAD} (A file entry is not an object.)`);
      const idx = member(f, 'metadataKey');
      files.push({
        id,
        encrypted: requireString(member(f, 'encrypted'), 'encrypted'),
        initializationVector: optionalString(member(f, 'initializationVector'), 'initializationVector'),
        authenticationTag: optionalString(member(f, 'authenticationTag'), 'authenticationTag'),
        metadataKeyIndex:
          typeof idx === 'number' && Number.isSafeInteger(idx) && idx >= 0
            ? idx
            : typeof idx === 'string' && /^\d{1,9}$/.test(idx)
              ? Number(idx)
              : undefined,
      });
    }
  } else if (!(
    filesRaw === undefined ||
    filesRaw === null ||
    (Array.isArray(filesRaw) && filesRaw.length === 0)
  )) {
    throw fail('metadata', `${BAD} (files has an unexpected shape.)`);
  }
  return { kind: 'v1', version, raw: o, warnings: [], metadataKeys, metadataKey, checksum, files };
}

/** Parses an already JSON-decoded outer document. */
export function parseMetadataValue(value: unknown): ParsedMetadata {
  if (!isObject(value)) throw fail('metadata', `${BAD} (Not a JSON object.)`);
  const m = member(value, 'metadata');
  if (isObject(m) && hasMember(m, 'version')) {
    const v1 = normaliseV1Version(member(m, 'version'));
    if (v1 === undefined) {
      // metadata.version present but not 1.x: a 2.x document never has it, so this is unknown.
      return unsupportedVersion();
    }
    return parseV1(value, m, v1);
  }
  if (!hasMember(value, 'version')) {
    throw fail('metadata', `${BAD} (The version is missing.)`);
  }
  const version = normaliseV2Version(member(value, 'version'));
  if (version === undefined) return unsupportedVersion();

  const warnings: MetadataWarning[] = [];
  const metadata = parseMetadataMember(value);
  const users = parseUsers(member(value, 'users'));
  if (users.length === 0) {
    if (hasMember(value, 'filedrop')) {
      const fd = parseFiledrop(member(value, 'filedrop'), []);
      if (fd.size > 0) {
        warnings.push(
          warning(
            'filedrop-in-subfolder',
            'A sub-folder document carried filedrop entries; they were ignored.',
          ),
        );
      }
    }
    return { kind: 'v2-sub', version, raw: value, warnings, metadata };
  }
  const filedrop = parseFiledrop(member(value, 'filedrop'), warnings);
  return { kind: 'v2-root', version, raw: value, warnings, metadata, users, filedrop };
}

/** Parses the metadata text as stored on the server (`meta-data` / `nc:e2ee-metadata`). */
export function parseMetadata(text: string): ParsedMetadata {
  return parseMetadataValue(parseJsonText(text, 'The folder metadata'));
}
