/**
 * Legacy metadata 1.0 / 1.1 / 1.2 (§7), read-only.
 *
 * - 1.0: `metadataKeys` index → key; each file names its index in `metadataKey` (absent → highest index).
 *   1.1 / 1.2: one `metadataKey`.
 * - RSA layer: OAEP plaintext is base64(base64(raw key)) ("double base64"); tolerated: single base64, raw.
 * - `files[id].encrypted` = base64(ct‖tag) + `|` (or `fA==`, oldest documents) + base64(iv), split on the
 *   LAST separator; the AES-GCM plaintext is the base64 text of `{key, filename, mimetype, version}`.
 * - Folders are `files` entries with mimetype httpd/unix-directory.
 * - 1.2 checksum = hex SHA-256(mnemonic without spaces ‖ sorted ids ‖ metadataKey string), checkable only with
 *   the writer's mnemonic (§7.2). A mismatch is a `key-checksum` error.
 * 1.x documents carry no signature; never accept them for a folder previously seen as 2.x (see verify.ts).
 */
import { fromBase64, fromUtf8, toHex, utf8, type Bytes } from '../../crypto/bytes';
import { gcmDecrypt, GCM_TAG_LENGTH } from '../../crypto/aes-gcm';
import { sha256 } from '../../crypto/hash';
import type { RsaPrivateKey } from '../../crypto/rsa';
import { fail } from '../../errors';
import { parseFileInfo } from './inner';
import { parseJsonText } from './json';
import { unwrapWithRsa } from './metadata-key';
import {
  isUuid32,
  warning,
  type FileEntry,
  type MetadataWarning,
  type ParsedV1,
  type Uuid32,
  type V1Version,
} from './types';

export interface DecryptedV1 {
  readonly kind: 'v1';
  readonly version: V1Version;
  readonly files: ReadonlyMap<Uuid32, FileEntry>;
  readonly folders: ReadonlyMap<Uuid32, string>;
  /** true: 1.2 checksum verified; false: not checkable (no mnemonic / no checksum / 1.0). */
  readonly checksumVerified: boolean;
  readonly warnings: readonly MetadataWarning[];
}

const KEY_FAILED =
  'The legacy folder key could not be read. The metadata may be damaged or written by an incompatible client. Open the folder with an official client to upgrade it.';

/** RSA plaintext → 16-byte key: double base64 (normal), single base64 or raw (tolerated). */
export function decodeV1KeyPlaintext(p: Uint8Array): Bytes {
  if (p.length === 16) return Uint8Array.from(p) as Bytes;
  let text: string;
  try {
    text = fromUtf8(p);
  } catch {
    throw fail('metadata', KEY_FAILED);
  }
  let once: Bytes;
  try {
    once = fromBase64(text);
  } catch {
    throw fail('metadata', KEY_FAILED);
  }
  if (once.length === 16) return once;
  let twice: Bytes;
  try {
    twice = fromBase64(fromUtf8(once));
  } catch {
    throw fail('metadata', KEY_FAILED);
  }
  if (twice.length !== 16) throw fail('metadata', KEY_FAILED);
  return twice;
}

/** Splits `ct<sep>iv` on the last `|`, or else on the last `fA==` that leaves a non-empty IV. */
export function splitV1Encrypted(s: string): { ct: string; iv: string } {
  const bar = s.lastIndexOf('|');
  if (bar >= 0) return { ct: s.slice(0, bar), iv: s.slice(bar + 1) };
  for (let i = s.lastIndexOf('fA=='); i >= 0; i = i === 0 ? -1 : s.lastIndexOf('fA==', i - 1)) {
    const iv = s.slice(i + 4);
    if (iv.length > 0 && i > 0) return { ct: s.slice(0, i), iv };
  }
  throw fail('metadata', 'A legacy file entry has no nonce. The folder metadata is damaged.');
}

async function decryptEncryptedField(encrypted: string, key: Bytes): Promise<unknown> {
  const { ct, iv } = splitV1Encrypted(encrypted);
  const ctBytes = fromBase64(ct, 'A legacy file entry');
  const ivBytes = fromBase64(iv, 'A legacy file nonce');
  if (ctBytes.length < GCM_TAG_LENGTH || ivBytes.length === 0) {
    throw fail('metadata', 'A legacy file entry is truncated. The folder metadata is damaged.');
  }
  const plain = await gcmDecrypt(
    key,
    ivBytes,
    ctBytes,
    undefined,
    'A legacy file entry does not match its authentication tag. It was changed or damaged, or the key is wrong.',
  );
  let text = fromUtf8(plain).trim();
  if (!text.startsWith('{')) text = fromUtf8(fromBase64(text, 'A legacy file entry'));
  return parseJsonText(text, 'A legacy file entry');
}

/** 1.2 checksum (§7.2) for a given mnemonic spelling. */
export async function v1Checksum(
  mnemonic: string,
  ids: readonly string[],
  metadataKey: string,
): Promise<string> {
  const m = mnemonic.replace(/\s+/g, '');
  const sorted = [...ids].sort();
  return toHex(await sha256(utf8(m + sorted.join('') + metadataKey)));
}

/** Decrypts a parsed 1.x document with the user's RSA key. */
export async function decryptV1(
  doc: ParsedV1,
  key: RsaPrivateKey,
  options: { mnemonic?: string; allowPkcs1v15?: boolean } = {},
): Promise<DecryptedV1> {
  const warnings: MetadataWarning[] = [...doc.warnings];
  let checksumVerified = false;
  if (doc.version === '1.2') {
    if (doc.checksum === undefined) {
      warnings.push(
        warning('v1-checksum-missing', 'This legacy folder has no checksum; it could not be checked.'),
      );
    } else if (options.mnemonic === undefined || doc.metadataKey === undefined) {
      warnings.push(warning('v1-checksum-unverified', 'The legacy folder checksum was not checked.'));
    } else {
      const ids = doc.files.map((f) => f.id);
      const want = doc.checksum.trim().toLowerCase();
      const candidates = new Set([options.mnemonic, options.mnemonic.toLowerCase()]);
      for (const m of candidates) {
        if ((await v1Checksum(m, ids, doc.metadataKey)) === want) checksumVerified = true;
      }
      if (!checksumVerified) {
        throw fail(
          'key-checksum',
          'The legacy folder checksum does not match. The folder may have been changed by someone else, or it was written with other recovery words. Do not trust its contents; open it with an official client.',
        );
      }
    }
  }

  const keyCache = new Map<string, Bytes>();
  const keyFor = async (wrapped: string): Promise<Bytes> => {
    let k = keyCache.get(wrapped);
    if (!k) {
      const { plaintext } = await unwrapWithRsa(key, wrapped, { allowPkcs1v15: options.allowPkcs1v15 });
      k = decodeV1KeyPlaintext(plaintext);
      keyCache.set(wrapped, k);
    }
    return k;
  };
  const highest = doc.metadataKeys.size > 0 ? Math.max(...doc.metadataKeys.keys()) : undefined;

  const files = new Map<Uuid32, FileEntry>();
  const folders = new Map<Uuid32, string>();
  for (const f of doc.files) {
    if (!isUuid32(f.id)) {
      warnings.push(
        warning('invalid-entry', 'A legacy entry whose id is not 32 hexadecimal digits was skipped.'),
      );
      continue;
    }
    let wrapped: string | undefined;
    if (doc.metadataKeys.size > 0) {
      wrapped = doc.metadataKeys.get(f.metadataKeyIndex ?? highest!) ?? undefined;
      if (wrapped === undefined && f.metadataKeyIndex !== undefined) {
        throw fail(
          'metadata',
          'A legacy file entry names a folder key that does not exist. The metadata is damaged.',
        );
      }
    }
    wrapped ??= doc.metadataKey;
    if (wrapped === undefined) throw fail('metadata', KEY_FAILED);
    const info = await decryptEncryptedField(f.encrypted, await keyFor(wrapped));
    // The file nonce and tag live outside the encrypted part in 1.x.
    let merged: unknown = info;
    if (typeof info === 'object' && info !== null && !Array.isArray(info)) {
      const o: Record<string, unknown> = { ...(info as Record<string, unknown>) };
      if (f.initializationVector !== undefined) o['initializationVector'] = f.initializationVector;
      if (f.authenticationTag !== undefined) o['authenticationTag'] = f.authenticationTag;
      merged = o;
    }
    const r = parseFileInfo(merged);
    if (r.kind === 'file') files.set(f.id, r.entry);
    else if (r.kind === 'folder') folders.set(f.id, r.name);
    else warnings.push(warning('invalid-entry', r.reason));
  }
  return { kind: 'v1', version: doc.version, files, folders, checksumVerified, warnings };
}
