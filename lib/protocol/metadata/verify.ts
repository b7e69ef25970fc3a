/**
 * The reading checks of §10.1 for one metadata document, in this order:
 *   version (incl. no downgrade to 1.x) → signature present → every `users[].certificate` against the pinned
 *   server key, its CN and the TOFU pins → CMS signature over the signed-content candidates by a member of the
 *   relevant users list (root: its own; sub-folder: the ROOT's) → own membership and metadata key (16 bytes)
 *   → decrypt → key checksum ∈ root keyChecksums → checksum history (warning; error when strict) → counter.
 * Errors are thrown as typed CipherfoldErrors (`signature`, `certificate`, `key-checksum`, `counter`, `tag`,
 * `metadata`, `format`); everything advisory is returned in `warnings`. `checkMetadata` wraps a verification
 * into a `{ ok, … }` result for callers that prefer values over exceptions.
 * The returned `state` is what the caller must persist for this folder (counter, checksum history, seen-2.x).
 */
import type { Bytes } from '../../crypto/bytes';
import type { RsaPrivateKey } from '../../crypto/rsa';
import { CipherfoldError, fail, isCipherfoldError } from '../../errors';
import { signedContentCandidates, type Json } from '../canonical-json';
import { parseCertificate, verifyCertificate, type ParsedCertificate } from '../certificate';
import { parseCmsSignature, verifyDetached } from '../cms';
import { checkCounter, contentFingerprint, type CounterRecord } from './counter';
import {
  checksumListContains,
  hasDuplicateChecksums,
  hasShortChecksums,
  keyChecksum,
  mergeChecksumHistory,
  missingFromHistory,
} from './key-checksum';
import { decryptMetadataKey } from './metadata-key';
import { parseMetadata } from './parse';
import { decryptV1, type DecryptedV1 } from './v1';
import { decryptInnerDocument } from './v2-crypto';
import {
  warning,
  type InnerDocument,
  type MetadataUser,
  type MetadataWarning,
  type ParsedMetadata,
  type ParsedV1,
  type ParsedV2Root,
  type ParsedV2Sub,
  type RawFiledropEntry,
  type UserId,
  type V2Version,
} from './types';

/** What this device remembers about one folder (keyed by server + file id by the caller). */
export interface FolderState {
  readonly counter?: CounterRecord;
  /** Root only: checksums seen before (§10.1.5). */
  readonly checksumHistory?: readonly string[];
  /** The folder was seen as 2.x before: a 1.x document is then a downgrade (§10.1.7). */
  readonly seenV2?: boolean;
}

export interface TrustContext {
  /** Pinned server key (SPKI PEM) that issues user certificates (§3.4). */
  readonly serverPublicKeyPem: string;
  /** TOFU pins: user id → certificate PEM seen first. A different certificate is a `certificate` error. */
  readonly pins?: ReadonlyMap<string, string>;
  readonly now?: Date;
  /** Checksum-history shrink becomes an error (only sensible when no iOS client writes, G-7). */
  readonly strict?: boolean;
  /** Try RSA PKCS#1 v1.5 when OAEP fails (hardware-token desktop users, G-35). Default true. */
  readonly allowPkcs1v15?: boolean;
}

export interface Self {
  readonly userId: string;
  readonly key: RsaPrivateKey;
}

export interface VerifiedRoot {
  readonly kind: 'v2-root';
  readonly version: V2Version;
  readonly users: readonly MetadataUser[];
  readonly metadataKey: Bytes;
  readonly inner: InnerDocument;
  readonly filedrop: ReadonlyMap<string, RawFiledropEntry>;
  readonly signer: UserId;
  /** Verified certificates of all members (signers for sub-folders of this root). */
  readonly certificates: ReadonlyMap<UserId, ParsedCertificate>;
  /** Members without a TOFU pin so far: user id → certificate PEM, to pin now. */
  readonly newPins: ReadonlyMap<UserId, string>;
  readonly warnings: readonly MetadataWarning[];
  readonly state: Required<FolderState>;
  /** True when the document is the one already seen (same counter and content). */
  readonly unchanged: boolean;
}

export interface VerifiedSub {
  readonly kind: 'v2-sub';
  readonly version: V2Version;
  readonly inner: InnerDocument;
  readonly signer: UserId;
  readonly warnings: readonly MetadataWarning[];
  readonly state: { counter: CounterRecord; seenV2: true };
  readonly unchanged: boolean;
}

export interface VerifiedV1 extends DecryptedV1 {
  readonly state: { seenV2: false };
}

export type VerifiedMetadata = VerifiedRoot | VerifiedSub | VerifiedV1;

function asParsed(doc: string | ParsedMetadata): ParsedMetadata {
  return typeof doc === 'string' ? parseMetadata(doc) : doc;
}

function rethrowAs(kind: 'signature' | 'certificate', e: unknown, message: string): never {
  if (isCipherfoldError(e) && e.kind === kind) throw e;
  throw fail(kind, message, { cause: e });
}

/** §10.1.2 for every member: server key, CN, validity, TOFU pin. */
async function verifyMembers(
  users: readonly MetadataUser[],
  trust: TrustContext,
): Promise<{ certificates: Map<UserId, ParsedCertificate>; newPins: Map<UserId, string> }> {
  const certificates = new Map<UserId, ParsedCertificate>();
  const newPins = new Map<UserId, string>();
  for (const u of users) {
    let cert: ParsedCertificate;
    try {
      cert = parseCertificate(u.certificate);
      await verifyCertificate(cert, trust.serverPublicKeyPem, {
        expectedCommonName: u.userId,
        now: trust.now,
      });
    } catch (e) {
      rethrowAs(
        'certificate',
        e,
        'A member certificate in the folder metadata is unreadable or was not issued by this server. The metadata may have been tampered with. Do not trust this folder; contact your administrator.',
      );
    }
    const pinned = trust.pins?.get(u.userId);
    if (pinned === undefined) {
      newPins.set(u.userId, u.certificate);
    } else {
      let pinnedCert: ParsedCertificate;
      try {
        pinnedCert = parseCertificate(pinned);
      } catch (e) {
        rethrowAs(
          'certificate',
          e,
          'A pinned certificate could not be read. Local data may be damaged. Re-pin it in the settings.',
        );
      }
      if (!bytesEqual(pinnedCert.der, cert.der)) {
        throw fail(
          'certificate',
          `The certificate of member "${u.userId}" differs from the one this device saw first. Someone may be impersonating them, or they set up new keys. Confirm with them before trusting the folder, then accept the new certificate in the settings.`,
        );
      }
    }
    certificates.set(u.userId, cert);
  }
  return { certificates, newPins };
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** §6.8.4: returns the signer and warnings. The candidates come from the parsed document (G-14). */
async function verifySignature(
  raw: ParsedMetadata['raw'],
  signature: string | undefined,
  signers: ReadonlyMap<UserId, ParsedCertificate>,
): Promise<{ signer: UserId; warnings: MetadataWarning[] }> {
  if (signature === undefined || signature.trim() === '') {
    throw fail(
      'signature',
      'The folder metadata has no signature. It may have been replaced by the server or someone without access. Do not trust this folder; reload, and contact your administrator if it persists.',
    );
  }
  const doc = raw as { [k: string]: Json };
  let candidates = signedContentCandidates(doc);
  // Android writes "users": [] into sub-folders; a signer may have left it out of what it signed.
  const users = doc['users'];
  if (Array.isArray(users) && users.length === 0) {
    const withoutUsers: { [k: string]: Json } = {};
    for (const k of Object.keys(doc)) if (k !== 'users') withoutUsers[k] = doc[k]!;
    const seen = new Set(candidates.map((c) => c.join(',')));
    candidates = [
      ...candidates,
      ...signedContentCandidates(withoutUsers).filter((c) => !seen.has(c.join(','))),
    ];
  }
  let result: { userId: string; candidateIndex: number };
  try {
    const sig = parseCmsSignature(signature.trim());
    result = await verifyDetached(
      sig,
      candidates,
      [...signers].map(([userId, certificate]) => ({ userId, certificate })),
    );
  } catch (e) {
    rethrowAs(
      'signature',
      e,
      'The folder metadata signature is malformed or does not verify. The metadata may have been changed by someone without access. Do not trust this folder; contact your administrator.',
    );
  }
  const warnings: MetadataWarning[] = [];
  if (result.candidateIndex > 0) {
    warnings.push(
      warning(
        'stored-order-signature',
        'The metadata signature covers a non-standard serialisation (another client’s variant); it verified.',
      ),
    );
  }
  return { signer: result.userId as UserId, warnings };
}

function checksumWarnings(list: readonly string[]): MetadataWarning[] {
  const out: MetadataWarning[] = [];
  if (hasDuplicateChecksums(list)) {
    out.push(
      warning('duplicate-checksums', 'The key checksum list contains duplicates (written by an iOS client).'),
    );
  }
  if (hasShortChecksums(list)) {
    out.push(
      warning(
        'short-checksum',
        'The key checksum list contains shortened entries (written by an Android client).',
      ),
    );
  }
  return out;
}

async function counterState(
  inner: InnerDocument,
  known: FolderState | undefined,
): Promise<{ record: CounterRecord; unchanged: boolean }> {
  return checkCounter(known?.counter, {
    counter: inner.counter,
    fingerprint: await contentFingerprint(inner),
  });
}

function checkNotDowngraded(doc: ParsedMetadata, known: FolderState | undefined): void {
  if (doc.kind === 'v1' && known?.seenV2) {
    throw fail(
      'metadata',
      'This folder was seen with metadata version 2 before and now has legacy metadata. The server may be serving old data (downgrade). Do not trust this folder; contact your administrator.',
    );
  }
}

export interface VerifyRootInput extends TrustContext {
  readonly document: string | ParsedMetadata;
  /** base64 CMS from `X-NC-E2EE-SIGNATURE` / `nc:e2ee-metadata-signature`. */
  readonly signature: string | undefined;
  readonly self: Self;
  readonly known?: FolderState;
}

/** Full §10.1 checks for the topmost encrypted folder. */
export async function verifyRootMetadata(input: VerifyRootInput): Promise<VerifiedRoot> {
  const doc = asParsed(input.document);
  checkNotDowngraded(doc, input.known);
  if (doc.kind !== 'v2-root') {
    throw fail(
      'metadata',
      'This folder was expected to be the top encrypted folder, but its metadata has no members. Reload; if it persists the metadata is damaged.',
    );
  }
  return verifyParsedRoot(doc, input);
}

async function verifyParsedRoot(doc: ParsedV2Root, input: VerifyRootInput): Promise<VerifiedRoot> {
  const warnings: MetadataWarning[] = [...doc.warnings];
  if (input.signature === undefined || input.signature.trim() === '')
    await verifySignature(doc.raw, undefined, new Map());
  const { certificates, newPins } = await verifyMembers(doc.users, input);
  const sig = await verifySignature(doc.raw, input.signature, certificates);
  warnings.push(...sig.warnings);

  const mine = doc.users.find((u) => u.userId === input.self.userId);
  if (!mine) {
    throw fail(
      'metadata',
      'You are not a member of this encrypted folder. It may not have been shared with you yet, or you were removed. Ask the folder owner.',
    );
  }
  const { metadataKey, pkcs1v15 } = await decryptMetadataKey(input.self.key, mine.encryptedMetadataKey, {
    allowPkcs1v15: input.allowPkcs1v15,
  });
  if (pkcs1v15) {
    warnings.push(
      warning('pkcs1-v15-key', 'Your folder key was wrapped with RSA PKCS#1 v1.5 (hardware-token client).'),
    );
  }
  const dec = await decryptInnerDocument(doc.metadata, metadataKey);
  warnings.push(...dec.warnings);
  const inner = dec.inner;

  const list = inner.keyChecksums ?? [];
  const sum = await keyChecksum(metadataKey);
  if (!checksumListContains(list, sum)) {
    throw fail(
      'key-checksum',
      'The folder key is not one of the keys the members have used (key checksum missing). Someone may have injected their own key. Do not trust this folder; contact your administrator.',
    );
  }
  warnings.push(...checksumWarnings(list));
  const missing = missingFromHistory(list, input.known?.checksumHistory ?? []);
  if (missing.length > 0) {
    const message = `${missing.length} key checksum(s) seen before are no longer listed. An old key may have been re-introduced, or an iOS client rewrote the list.`;
    if (input.strict)
      throw fail('key-checksum', `${message} Do not trust this folder; contact your administrator.`);
    warnings.push(warning('checksum-history-shrank', message));
  }
  const counter = await counterState(inner, input.known);
  return {
    kind: 'v2-root',
    version: doc.version,
    users: doc.users,
    metadataKey,
    inner,
    filedrop: doc.filedrop,
    signer: sig.signer,
    certificates,
    newPins,
    warnings,
    state: {
      counter: counter.record,
      checksumHistory: mergeChecksumHistory(input.known?.checksumHistory ?? [], list),
      seenV2: true,
    },
    unchanged: counter.unchanged,
  };
}

export interface VerifySubInput {
  readonly document: string | ParsedMetadata;
  readonly signature: string | undefined;
  /** The verified topmost folder: its members sign, its key decrypts, its checksums apply. */
  readonly root: VerifiedRoot;
  readonly known?: FolderState;
}

/** §10.1 checks for a sub-folder (any depth) of a verified root. */
export async function verifySubMetadata(input: VerifySubInput): Promise<VerifiedSub> {
  const doc = asParsed(input.document);
  checkNotDowngraded(doc, input.known);
  if (doc.kind !== 'v2-sub') {
    throw fail(
      'metadata',
      'A sub-folder has metadata of the wrong kind (it lists members or is legacy). The metadata may be damaged or replaced. Do not trust this folder; contact your administrator.',
    );
  }
  return verifyParsedSub(doc, input);
}

async function verifyParsedSub(doc: ParsedV2Sub, input: VerifySubInput): Promise<VerifiedSub> {
  const warnings: MetadataWarning[] = [...doc.warnings];
  const sig = await verifySignature(doc.raw, input.signature, input.root.certificates);
  warnings.push(...sig.warnings);
  const dec = await decryptInnerDocument(doc.metadata, input.root.metadataKey);
  warnings.push(...dec.warnings);
  // §6.5: for sub-folders the root's list applies (the root key is what decrypted this document).
  const sum = await keyChecksum(input.root.metadataKey);
  if (!checksumListContains(input.root.inner.keyChecksums ?? [], sum)) {
    throw fail(
      'key-checksum',
      'The folder key is not one of the keys the members have used (key checksum missing). Do not trust this folder; contact your administrator.',
    );
  }
  const counter = await counterState(dec.inner, input.known);
  return {
    kind: 'v2-sub',
    version: doc.version,
    inner: dec.inner,
    signer: sig.signer,
    warnings,
    state: { counter: counter.record, seenV2: true },
    unchanged: counter.unchanged,
  };
}

export interface VerifyV1Input {
  readonly document: string | ParsedMetadata;
  readonly self: Self;
  readonly known?: FolderState;
  /** The writer's mnemonic, to check a 1.2 checksum (§7.2). */
  readonly mnemonic?: string;
  readonly allowPkcs1v15?: boolean;
}

/** Legacy 1.x: no signature exists; refused for a folder seen as 2.x before. */
export async function verifyV1Metadata(input: VerifyV1Input): Promise<VerifiedV1> {
  const doc = asParsed(input.document);
  checkNotDowngraded(doc, input.known);
  if (doc.kind !== 'v1') throw fail('metadata', 'This metadata is not legacy 1.x metadata. This is a bug.');
  const r = await decryptV1(doc satisfies ParsedV1, input.self.key, {
    mnemonic: input.mnemonic,
    allowPkcs1v15: input.allowPkcs1v15,
  });
  return { ...r, state: { seenV2: false } };
}

export type VerifyInput = TrustContext & {
  readonly document: string | ParsedMetadata;
  readonly signature: string | undefined;
  readonly self: Self;
  readonly known?: FolderState;
  /** Required for sub-folders. */
  readonly root?: VerifiedRoot;
  readonly mnemonic?: string;
};

/** Dispatches on the document kind (root, sub-folder with `root`, or 1.x). */
export async function verifyMetadata(input: VerifyInput): Promise<VerifiedMetadata> {
  const doc = asParsed(input.document);
  checkNotDowngraded(doc, input.known);
  if (doc.kind === 'v2-root') return verifyParsedRoot(doc, { ...input, document: doc });
  if (doc.kind === 'v2-sub') {
    if (!input.root) {
      throw fail(
        'metadata',
        'A sub-folder can only be opened after its top encrypted folder. This is a bug.',
      );
    }
    return verifyParsedSub(doc, {
      document: doc,
      signature: input.signature,
      root: input.root,
      known: input.known,
    });
  }
  return verifyV1Metadata({ ...input, document: doc });
}

export type VerifyOutcome<T> =
  | { readonly ok: true; readonly value: T; readonly warnings: readonly MetadataWarning[] }
  | { readonly ok: false; readonly error: CipherfoldError };

/** `verifyMetadata` as a result value: typed error instead of an exception (non-Cipherfold errors rethrown). */
export async function checkMetadata(input: VerifyInput): Promise<VerifyOutcome<VerifiedMetadata>> {
  try {
    const value = await verifyMetadata(input);
    return { ok: true, value, warnings: value.warnings };
  } catch (e) {
    if (e instanceof CipherfoldError) return { ok: false, error: e };
    throw e;
  }
}
