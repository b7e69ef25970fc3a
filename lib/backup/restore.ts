/**
 * Offline verification and decryption of a backup dump (docs/dump-format.md). Pure and portable: the
 * dump's payload files are read through `DumpSource`, plaintext goes to `PlaintextSink`; the CLI supplies
 * both (file system, staging directory).
 *
 * Order: unlock (recovery words → the user's key, checked against the certificate and the dump's server
 * key; or an organisation recovery key that is a member of each root) → every root (signature, member
 * certificates against `serverPublicKey`, key checksum, counter against the known counters) → every
 * sub-folder with its root → consistency (every listed sub-folder and payload present, pending filedrop
 * entries decrypted) → only then payloads are decrypted, streaming, and each GCM tag verified. Plaintext of
 * a payload whose tag fails has already reached the sink: the sink must be a staging area that the caller
 * discards on any error.
 */
import { type Bytes } from '../crypto/bytes';
import { GcmStreamDecryptor } from '../crypto/gcm-stream';
import { publicSpkiOf, type RsaPrivateKey } from '../crypto/rsa';
import { fail } from '../errors';
import { openKeys } from '../engine/keys';
import { parseCertificate } from '../protocol/certificate';
import {
  decryptFiledrop,
  parseMetadata,
  verifyRootMetadata,
  verifySubMetadata,
  verifyV1Metadata,
  type FileEntry,
  type ParsedMetadata,
  type Uuid32,
  type VerifiedRoot,
} from '../protocol/metadata';
import type { Dump, DumpFolder } from './dump';
import { NameAllocator } from './names';

export const PAYLOAD_TAG_MESSAGE =
  "A file's encrypted content in the dump does not match its checksum. The dump was damaged or changed. Nothing was restored; use another copy of the backup.";

export interface DumpSource {
  /** Stored payloads of one folder: file name → size in bytes (empty when the folder has none). */
  listPayloads(folderFileId: string): Promise<ReadonlyMap<string, number>>;
  /** The raw bytes of one payload, in order. */
  readPayload(folderFileId: string, name: string): AsyncIterable<Uint8Array>;
}

export interface PlaintextSink {
  /** Creates a directory; `path` is a list of safe segments relative to the output root. */
  mkdir(path: readonly string[]): Promise<void>;
  /** Writes a file from the chunks (consumes them fully; rethrows their errors). */
  writeFile(path: readonly string[], chunks: AsyncIterable<Uint8Array>): Promise<void>;
}

export type Unlock =
  | { readonly kind: 'words'; readonly words: string[] | string }
  | { readonly kind: 'recovery-key'; readonly key: RsaPrivateKey };

export interface RestoreInput {
  readonly dump: Dump;
  readonly source: DumpSource;
  readonly unlock: Unlock;
  /** Counters recorded earlier (`--known-counters`), merged with the dump's own (highest wins). */
  readonly knownCounters?: Readonly<Record<string, number>>;
  readonly onWarning?: (message: string) => void;
  readonly now?: Date;
}

export interface RestoreSummary {
  readonly ok: true;
  readonly roots: number;
  /** Folders restored, roots included. */
  readonly folders: number;
  readonly files: number;
  /** Plaintext bytes written. */
  readonly bytes: number;
}

interface PlannedFile {
  readonly folderFileId: string;
  readonly blobName: string;
  readonly path: readonly string[];
  readonly entry: FileEntry;
}

export interface RestorePlan {
  /** Output directories, parents first (the first segment is the root's safe name). */
  readonly directories: readonly (readonly string[])[];
  readonly files: readonly PlannedFile[];
  readonly roots: number;
}

type Self = { userId: string; key: RsaPrivateKey };

interface Listing {
  readonly folders: ReadonlyMap<Uuid32, string>;
  readonly files: Map<Uuid32, FileEntry>;
}

interface VisitedFolder {
  readonly folder: DumpFolder;
  readonly path: readonly string[];
  readonly listing: Listing;
  /** Names handed out in this output directory. */
  readonly names: NameAllocator;
  /** The verified root (2.x trees), or undefined for legacy 1.x trees. */
  readonly root: VerifiedRoot | undefined;
  readonly self: Self;
  /** Sub-folders not yet found in the dump: lower-case id → safe output name. */
  readonly subNames: Map<string, string>;
}

function mergeCounters(
  a: Readonly<Record<string, number>> | undefined,
  b: Readonly<Record<string, number>> | undefined,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const src of [a, b]) {
    if (!src) continue;
    for (const [k, v] of Object.entries(src)) out.set(k, Math.max(out.get(k) ?? 0, v));
  }
  return out;
}

function checkKnownCounter(known: Map<string, number>, fileId: string, counter: number): void {
  const k = known.get(fileId);
  if (k !== undefined && counter < k) {
    throw fail(
      'counter',
      `A folder's metadata in the dump is older than a version seen before (counter ${counter} < ${k}). The server may have served old data when the backup was made. Do not trust this dump; use an older backup or contact your administrator.`,
    );
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The member entry of a root whose certificate holds the recovery key's public key. */
async function recoverySelf(parsed: ParsedMetadata, key: RsaPrivateKey, spki: Uint8Array): Promise<Self> {
  if (parsed.kind !== 'v2-root') {
    throw fail(
      'unsupported',
      'A legacy (1.x) encrypted folder in the dump can only be opened with the recovery words of its owner. Use --words-file.',
    );
  }
  for (const u of parsed.users) {
    let certSpki: Uint8Array;
    try {
      certSpki = parseCertificate(u.certificate).publicSpki;
    } catch {
      continue; // an unreadable certificate is reported by the verification itself
    }
    if (equalBytes(certSpki, spki)) return { userId: u.userId, key };
  }
  throw fail(
    'metadata',
    'The recovery key is not a member of an encrypted folder in the dump. That folder was never shared with the recovery key. Use the recovery words of a member instead.',
  );
}

function findBlob(payloads: ReadonlyMap<string, number>, id: string): string | undefined {
  if (payloads.has(id)) return id;
  const lower = id.toLowerCase();
  for (const name of payloads.keys()) if (name.toLowerCase() === lower) return name;
  return undefined;
}

function missingPayload(): never {
  throw fail(
    'missing-file',
    'A file listed in the folder metadata has no encrypted content in the dump. It was missing on the server when the backup ran (possibly deleted by someone), or the dump is incomplete. Run the backup again, or use another copy.',
  );
}

/** Verifies all metadata and checks the dump is complete; nothing is decrypted or written yet. */
export async function planRestore(input: RestoreInput): Promise<RestorePlan> {
  const { dump } = input;
  const warn = input.onWarning ?? (() => undefined);
  const known = mergeCounters(dump.knownCounters, input.knownCounters);

  let wordsSelf: Self | undefined;
  let recovery: { key: RsaPrivateKey; spki: Uint8Array } | undefined;
  if (input.unlock.kind === 'words') {
    const keys = await openKeys({
      userId: dump.user,
      serverPublicKeyPem: dump.serverPublicKey,
      certificatePem: dump.certificate,
      blob: dump.encryptedPrivateKey,
      words: input.unlock.words,
    });
    wordsSelf = { userId: keys.userId, key: keys.key };
  } else {
    recovery = { key: input.unlock.key, spki: await publicSpkiOf(input.unlock.key) };
  }

  const visited = new Map<string, VisitedFolder>();
  const rootNames = new NameAllocator();
  const directories: string[][] = [];
  let roots = 0;

  for (const folder of dump.folders) {
    const parsed = parseMetadata(folder.metadata);
    const signature = folder.signature ?? undefined;
    if (folder.parentFileId === null) {
      const self = wordsSelf ?? (await recoverySelf(parsed, recovery!.key, recovery!.spki));
      let listing: Listing;
      let root: VerifiedRoot | undefined;
      if (parsed.kind === 'v1') {
        if (known.has(folder.fileId)) {
          throw fail(
            'metadata',
            'A folder recorded with a counter (metadata version 2) has legacy 1.x metadata in the dump. The server may have served old data (downgrade). Do not trust this dump; use an older backup or contact your administrator.',
          );
        }
        const v1 = await verifyV1Metadata({ document: parsed, self });
        listing = { folders: v1.folders, files: new Map(v1.files) };
      } else {
        root = await verifyRootMetadata({
          document: parsed,
          signature,
          self,
          serverPublicKeyPem: dump.serverPublicKey,
          now: input.now,
        });
        checkKnownCounter(known, folder.fileId, root.inner.counter);
        listing = { folders: root.inner.folders, files: new Map(root.inner.files) };
        if (root.filedrop.size > 0) {
          const fd = await decryptFiledrop(root.filedrop, self);
          for (const w of fd.warnings) warn(w.message);
          for (const [id, entry] of fd.migrated) {
            if (listing.files.has(id) || listing.folders.has(id)) {
              warn('A filedrop entry reused the id of an existing item and was not restored.');
              continue;
            }
            listing.files.set(id, entry);
          }
        }
      }
      for (const w of parsed.warnings) warn(w.message);
      const path = [rootNames.allocate(folder.name)];
      directories.push(path);
      roots++;
      visited.set(folder.fileId, newVisited(folder, path, listing, root, self));
      continue;
    }

    const parent = visited.get(folder.parentFileId);
    if (!parent) continue; // below an orphan: skipped with it
    const safeName = parent.subNames.get(folder.name.toLowerCase());
    if (safeName === undefined) {
      warn('A sub-folder in the dump is not listed in its parent folder and was skipped (orphan).');
      continue;
    }
    parent.subNames.delete(folder.name.toLowerCase());
    let listing: Listing;
    if (parent.root === undefined) {
      if (parsed.kind !== 'v1') {
        throw fail(
          'metadata',
          'A sub-folder of a legacy (1.x) folder has metadata of another version. The dump may have been tampered with. Do not trust it.',
        );
      }
      const v1 = await verifyV1Metadata({ document: parsed, self: parent.self });
      listing = { folders: v1.folders, files: new Map(v1.files) };
    } else {
      const sub = await verifySubMetadata({ document: parsed, signature, root: parent.root });
      checkKnownCounter(known, folder.fileId, sub.inner.counter);
      listing = { folders: sub.inner.folders, files: new Map(sub.inner.files) };
    }
    const path = [...parent.path, safeName];
    directories.push(path);
    visited.set(folder.fileId, newVisited(folder, path, listing, parent.root, parent.self));
  }

  if (roots === 0) {
    throw fail(
      'format',
      'The backup dump contains no encrypted folder. The backup may have found nothing to save. Check the server and run the backup again.',
    );
  }

  const files: PlannedFile[] = [];
  for (const v of visited.values()) {
    if (v.subNames.size > 0) {
      throw fail(
        'missing-file',
        'A sub-folder listed in the folder metadata is not in the dump. It was missing on the server when the backup ran (possibly deleted by someone), or the dump is incomplete. Run the backup again, or use another copy.',
      );
    }
    const payloads = await input.source.listPayloads(v.folder.fileId);
    for (const [id, entry] of v.listing.files) {
      const blobName = findBlob(payloads, id);
      if (blobName === undefined) missingPayload();
      files.push({
        folderFileId: v.folder.fileId,
        blobName,
        path: [...v.path, v.names.allocate(entry.filename)],
        entry,
      });
    }
  }
  return { directories, files, roots };
}

function newVisited(
  folder: DumpFolder,
  path: readonly string[],
  listing: Listing,
  root: VerifiedRoot | undefined,
  self: Self,
): VisitedFolder {
  const names = new NameAllocator();
  // Sub-folders get their names first, so a file never takes a folder's name.
  const subNames = new Map<string, string>();
  for (const [id, name] of listing.folders) subNames.set(id.toLowerCase(), names.allocate(name));
  return { folder, path, listing, names, root, self, subNames };
}

async function* decryptChunks(
  chunks: AsyncIterable<Uint8Array>,
  key: Bytes,
  nonce: Bytes,
  count: (n: number) => void,
): AsyncGenerator<Uint8Array> {
  const dec = await GcmStreamDecryptor.create(key, nonce, {
    trailingTag: true,
    tagErrorMessage: PAYLOAD_TAG_MESSAGE,
  });
  let out: Bytes[] = [];
  const sink = (b: Bytes): void => {
    out.push(b);
  };
  for await (const chunk of chunks) {
    await dec.write(chunk, sink);
    if (out.length > 0) {
      const ready = out;
      out = [];
      for (const b of ready) {
        count(b.length);
        yield b;
      }
    }
  }
  await dec.finish(sink);
  for (const b of out) {
    count(b.length);
    yield b;
  }
}

export interface ExecuteOptions {
  readonly source: DumpSource;
  readonly sink: PlaintextSink;
  readonly onProgress?: (p: { files: number; bytes: number; totalFiles: number }) => void;
}

/** Decrypts every planned payload into `sink` (a staging area: plaintext of a failing file is partial). */
export async function executePlan(plan: RestorePlan, o: ExecuteOptions): Promise<RestoreSummary> {
  for (const dir of plan.directories) await o.sink.mkdir(dir);
  let bytes = 0;
  let done = 0;
  for (const f of plan.files) {
    const chunks = o.source.readPayload(f.folderFileId, f.blobName);
    await o.sink.writeFile(
      f.path,
      decryptChunks(chunks, f.entry.key, f.entry.nonce, (n) => {
        bytes += n;
      }),
    );
    done++;
    o.onProgress?.({ files: done, bytes, totalFiles: plan.files.length });
  }
  return { ok: true, roots: plan.roots, folders: plan.directories.length, files: plan.files.length, bytes };
}

/** `planRestore` then `executePlan`. */
export async function restoreDump(input: RestoreInput & ExecuteOptions): Promise<RestoreSummary> {
  return executePlan(await planRestore(input), input);
}
