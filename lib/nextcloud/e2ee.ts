/**
 * The end_to_end_encryption app's OCS endpoints (protocol.md §4), for both the app's main branch and
 * 1.17.3 (Nextcloud 31). Opaque strings only: no crypto here.
 *
 * Share-token transport (G-31): header `X-NC-E2EE-SHARE-TOKEN` for private-key GET, metadata, lock/unlock
 * and encrypted PUT; parameter `shareToken` for private-key POST/DELETE, public-key POST/DELETE and
 * filedrop. Because 1.17.3 has no share-token header, lock/unlock, metadata GET and filedrop also get the
 * `shareToken` parameter (harmless on main).
 */
import { fail } from '../errors';
import type { ErrorContext, Http } from './http';
import { asFileId, asLockToken } from './ids';
import {
  type OcsCall,
  type Params,
  expectObject,
  expectString,
  isObject,
  ocsRequest,
  unexpected,
} from './ocs';
import type { E2eeApiFamily, FileId, LockToken } from './types';

export interface E2eeCallOptions {
  /** Act for an E2EE public link share (metadata 2.1). */
  shareToken?: string;
  signal?: AbortSignal;
}

export interface KeyCallOptions extends E2eeCallOptions {
  /** Endpoint family; default from the client options (`v2`). */
  api?: E2eeApiFamily;
}

export interface FolderMetadata {
  /** The stored metadata JSON text, exactly as returned. */
  metadata: string;
  /** Base64 CMS signature from `X-NC-E2EE-SIGNATURE` ("" for legacy documents without one). */
  signature: string;
}

export interface LockOptions extends E2eeCallOptions {
  /** Re-acquire a lock you already hold (sent as the `e2e-token` PARAMETER, G-3). */
  token?: LockToken;
}

export interface UnlockOptions extends E2eeCallOptions {
  /** Revert staged changes instead of committing them. */
  abort?: boolean;
}

const SHARE_HEADER = 'X-NC-E2EE-SHARE-TOKEN';

function shareHeader(o: E2eeCallOptions | undefined): Record<string, string> {
  return o?.shareToken === undefined ? {} : { [SHARE_HEADER]: o.shareToken };
}

function shareParam(o: E2eeCallOptions | undefined): Params {
  return o?.shareToken === undefined ? [] : [['shareToken', o.shareToken]];
}

function idPath(id: FileId): string {
  return asFileId(id);
}

export class E2eeApi {
  constructor(
    private readonly http: Http,
    private readonly baseUrl: string,
    private readonly defaultApi: E2eeApiFamily,
  ) {}

  private call(
    family: E2eeApiFamily,
    c: Omit<OcsCall, 'path'> & { sub: string },
  ): Promise<{ data: unknown; headers: Headers }> {
    const { sub, ...rest } = c;
    return ocsRequest(this.http, this.baseUrl, {
      ...rest,
      path: `apps/end_to_end_encryption/api/${family}/${sub}`,
    });
  }

  private ctx(what: string, extra: Partial<ErrorContext> = {}): ErrorContext {
    return { what, ...extra };
  }

  // ---------------------------------------------------------------- keys (§4.1)

  /** `GET public-key`: certificates by user id. The caller's own id is always included by the server (G-30). */
  async getPublicKeys(users?: readonly string[], o?: KeyCallOptions): Promise<Map<string, string>> {
    const what = 'Fetching public keys';
    const query: Params = users !== undefined && users.length > 0 ? [['users', JSON.stringify(users)]] : [];
    const { data } = await this.call(o?.api ?? this.defaultApi, {
      method: 'GET',
      sub: 'public-key',
      query,
      ctx: this.ctx(what),
      signal: o?.signal,
    });
    const keys = expectObject(expectObject(data, what, 'data')['public-keys'], what, 'public-keys');
    const out = new Map<string, string>();
    for (const [uid, pem] of Object.entries(keys)) out.set(uid, expectString(pem, what, 'public-keys[]'));
    return out;
  }

  /** `POST public-key` with a CSR (PEM); returns the issued certificate PEM. */
  async createPublicKey(csrPem: string, o?: KeyCallOptions): Promise<string> {
    const what = 'Registering your public key';
    const { data } = await this.call(o?.api ?? this.defaultApi, {
      method: 'POST',
      sub: 'public-key',
      form: [['csr', csrPem], ...shareParam(o)],
      ctx: this.ctx(what),
      signal: o?.signal,
    });
    return expectString(expectObject(data, what, 'data')['public-key'], what, 'public-key');
  }

  /** `PUT public-key`: upload an externally issued certificate. */
  async uploadPublicKey(certificatePem: string, o?: Omit<KeyCallOptions, 'shareToken'>): Promise<string> {
    const what = 'Uploading your certificate';
    const { data } = await this.call(o?.api ?? this.defaultApi, {
      method: 'PUT',
      sub: 'public-key',
      form: [['publicKey', certificatePem]],
      ctx: this.ctx(what),
      signal: o?.signal,
    });
    return expectString(expectObject(data, what, 'data')['public-key'], what, 'public-key');
  }

  async deletePublicKey(o?: KeyCallOptions): Promise<void> {
    await this.call(o?.api ?? this.defaultApi, {
      method: 'DELETE',
      sub: 'public-key',
      query: shareParam(o),
      ctx: this.ctx('Deleting your public key'),
      signal: o?.signal,
    });
  }

  /** `GET private-key` (share token as HEADER). Returns the encrypted private-key blob. */
  async getPrivateKey(o?: KeyCallOptions): Promise<string> {
    const what = 'Fetching your encrypted private key';
    const { data } = await this.call(o?.api ?? this.defaultApi, {
      method: 'GET',
      sub: 'private-key',
      headers: shareHeader(o),
      ctx: this.ctx(what),
      signal: o?.signal,
    });
    return expectString(expectObject(data, what, 'data')['private-key'], what, 'private-key');
  }

  /** `POST private-key` (share token as PARAMETER). */
  async storePrivateKey(blob: string, o?: KeyCallOptions): Promise<void> {
    await this.call(o?.api ?? this.defaultApi, {
      method: 'POST',
      sub: 'private-key',
      form: [['privateKey', blob], ...shareParam(o)],
      ctx: this.ctx('Storing your encrypted private key'),
      signal: o?.signal,
    });
  }

  async deletePrivateKey(o?: KeyCallOptions): Promise<void> {
    await this.call(o?.api ?? this.defaultApi, {
      method: 'DELETE',
      sub: 'private-key',
      query: shareParam(o),
      ctx: this.ctx('Deleting your encrypted private key'),
      signal: o?.signal,
    });
  }

  /** `GET server-key`: the server's public key (SPKI PEM) that signs user certificates. */
  async getServerKey(o?: Omit<KeyCallOptions, 'shareToken'>): Promise<string> {
    const what = 'Fetching the server key';
    const { data } = await this.call(o?.api ?? this.defaultApi, {
      method: 'GET',
      sub: 'server-key',
      ctx: this.ctx(what),
      signal: o?.signal,
    });
    return expectString(expectObject(data, what, 'data')['public-key'], what, 'public-key');
  }

  // ---------------------------------------------------------------- encryption flag (§4.2)

  /** `PUT encrypted/{id}`: flag an (empty) folder as encrypted. Share token as HEADER. */
  async setEncrypted(folderId: FileId, o?: KeyCallOptions): Promise<void> {
    await this.call(o?.api ?? this.defaultApi, {
      method: 'PUT',
      sub: `encrypted/${idPath(folderId)}`,
      headers: shareHeader(o),
      ctx: this.ctx('Marking the folder as encrypted'),
      signal: o?.signal,
    });
  }

  /** `DELETE encrypted/{id}`: clear the flag of an empty folder and drop its metadata. */
  async removeEncrypted(folderId: FileId, o?: Omit<KeyCallOptions, 'shareToken'>): Promise<void> {
    await this.call(o?.api ?? this.defaultApi, {
      method: 'DELETE',
      sub: `encrypted/${idPath(folderId)}`,
      ctx: this.ctx('Removing the encryption flag'),
      signal: o?.signal,
    });
  }

  /** `DELETE encrypted-files`: deletes every encrypted folder of the user. Returns the deleted ids. */
  async deleteAllEncryptedFiles(o?: Omit<KeyCallOptions, 'shareToken'>): Promise<FileId[]> {
    const what = 'Deleting all encrypted folders';
    const { data } = await this.call(o?.api ?? this.defaultApi, {
      method: 'DELETE',
      sub: 'encrypted-files',
      ctx: this.ctx(what),
      signal: o?.signal,
    });
    const ids = isObject(data) ? data['deletedIds'] : undefined;
    if (ids === undefined) return [];
    if (!Array.isArray(ids)) throw unexpected(what, 'deletedIds: expected an array');
    return ids.map((x: unknown) => {
      if (typeof x !== 'number' && typeof x !== 'string')
        throw unexpected(what, 'deletedIds[]: expected a number');
      return asFileId(x);
    });
  }

  // ---------------------------------------------------------------- metadata v2 (§4.3)

  /** `GET v2 meta-data/{id}` → metadata text and signature (response header `X-NC-E2EE-SIGNATURE`). */
  async getMetadata(folderId: FileId, o?: E2eeCallOptions): Promise<FolderMetadata> {
    const what = 'Reading the folder metadata';
    const { data, headers } = await this.call('v2', {
      method: 'GET',
      sub: `meta-data/${idPath(folderId)}`,
      headers: shareHeader(o),
      query: shareParam(o),
      ctx: this.ctx(what),
      signal: o?.signal,
    });
    const metadata = expectString(expectObject(data, what, 'data')['meta-data'], what, 'meta-data');
    return { metadata, signature: headers.get('X-NC-E2EE-SIGNATURE') ?? '' };
  }

  /** `POST v2 meta-data/{id}`: first metadata of a folder (staged until unlock). */
  async createMetadata(
    folderId: FileId,
    metadata: string,
    signature: string,
    token: LockToken,
    o?: E2eeCallOptions,
  ): Promise<void> {
    await this.writeMetadata('POST', folderId, metadata, signature, token, o, 'Creating the folder metadata');
  }

  /** `PUT v2 meta-data/{id}`: replace a folder's committed metadata (staged until unlock). */
  async updateMetadata(
    folderId: FileId,
    metadata: string,
    signature: string,
    token: LockToken,
    o?: E2eeCallOptions,
  ): Promise<void> {
    await this.writeMetadata('PUT', folderId, metadata, signature, token, o, 'Updating the folder metadata');
  }

  private async writeMetadata(
    method: 'POST' | 'PUT',
    folderId: FileId,
    metadata: string,
    signature: string,
    token: LockToken,
    o: E2eeCallOptions | undefined,
    what: string,
  ): Promise<void> {
    if (signature === '')
      throw fail('signature', `${what} failed: no signature was given. This is a bug. Report it.`);
    await this.call('v2', {
      method,
      sub: `meta-data/${idPath(folderId)}`,
      headers: { 'e2e-token': asLockToken(token), 'X-NC-E2EE-SIGNATURE': signature, ...shareHeader(o) },
      form: [['metaData', metadata]],
      ctx: this.ctx(what),
      signal: o?.signal,
    });
  }

  /** `DELETE v2 meta-data/{id}` (staged; removed at unlock). */
  async deleteMetadata(folderId: FileId, token: LockToken, o?: E2eeCallOptions): Promise<void> {
    await this.call('v2', {
      method: 'DELETE',
      sub: `meta-data/${idPath(folderId)}`,
      headers: { 'e2e-token': asLockToken(token), ...shareHeader(o) },
      ctx: this.ctx('Deleting the folder metadata'),
      signal: o?.signal,
    });
  }

  /**
   * `PUT v2 meta-data/{id}/filedrop`: merge filedrop entries (object keyed by file uuid, or its JSON text).
   * The server answers `{filedrop: …}` (main) or `[]` (1.17.3); nothing is returned.
   */
  async addFiledrop(
    rootId: FileId,
    filedrop: string | Record<string, unknown>,
    o?: E2eeCallOptions,
  ): Promise<void> {
    const text = typeof filedrop === 'string' ? filedrop : JSON.stringify(filedrop);
    await this.call('v2', {
      method: 'PUT',
      sub: `meta-data/${idPath(rootId)}/filedrop`,
      form: [['filedrop', text], ...shareParam(o)],
      ctx: this.ctx('Adding files to the drop folder'),
      signal: o?.signal,
    });
  }

  // ---------------------------------------------------------------- lock v2 (§4.4)

  /**
   * `POST v2 lock/{id}` with `X-NC-E2EE-COUNTER`. Errors: `locked` (423, someone else), `conflict`
   * (412 on main, 500 on NC 31: counter not greater than the stored one).
   */
  async lock(folderId: FileId, counter: number, o?: LockOptions): Promise<LockToken> {
    const what = 'Locking the folder';
    if (!Number.isSafeInteger(counter) || counter < 1) {
      throw fail(
        'counter',
        `${what} failed: the counter ${String(counter)} is not a whole number ≥ 1. This is a bug. Report it.`,
      );
    }
    const form: Params = [
      ...(o?.token === undefined ? [] : [['e2e-token', asLockToken(o.token)] as const]),
      ...shareParam(o),
    ];
    const { data } = await this.call('v2', {
      method: 'POST',
      sub: `lock/${idPath(folderId)}`,
      headers: { 'X-NC-E2EE-COUNTER': String(counter), ...shareHeader(o) },
      ...(form.length > 0 ? { form } : {}),
      ctx: this.ctx(what, { lock: true }),
      signal: o?.signal,
    });
    return asLockToken(expectString(expectObject(data, what, 'data')['e2e-token'], what, 'e2e-token'));
  }

  /**
   * `DELETE v2 lock/{id}` (token as header; `abort=true` query). If the folder is not locked with this
   * token (403 on main, 404 "File not locked" on NC 31) a `conflict` error is thrown.
   */
  async unlock(folderId: FileId, token: LockToken, o?: UnlockOptions): Promise<void> {
    await this.call('v2', {
      method: 'DELETE',
      sub: `lock/${idPath(folderId)}`,
      headers: { 'e2e-token': asLockToken(token), ...shareHeader(o) },
      query: [...(o?.abort === true ? [['abort', 'true'] as const] : []), ...shareParam(o)],
      ctx: this.ctx(o?.abort === true ? 'Cancelling the folder changes' : 'Unlocking the folder', {
        unlock: true,
      }),
      signal: o?.signal,
    });
  }

  // ---------------------------------------------------------------- legacy v1 (§4.5)

  async getMetadataV1(folderId: FileId, o?: E2eeCallOptions): Promise<string> {
    const what = 'Reading the legacy folder metadata';
    const { data } = await this.call('v1', {
      method: 'GET',
      sub: `meta-data/${idPath(folderId)}`,
      query: shareParam(o),
      ctx: this.ctx(what),
      signal: o?.signal,
    });
    return expectString(expectObject(data, what, 'data')['meta-data'], what, 'meta-data');
  }

  async createMetadataV1(
    folderId: FileId,
    metadata: string,
    token?: LockToken,
    o?: E2eeCallOptions,
  ): Promise<void> {
    await this.call('v1', {
      method: 'POST',
      sub: `meta-data/${idPath(folderId)}`,
      form: [
        ['metaData', metadata],
        ...(token === undefined ? [] : [['e2e-token', asLockToken(token)] as const]),
      ],
      ctx: this.ctx('Creating the legacy folder metadata'),
      signal: o?.signal,
    });
  }

  /** v1 PUT takes the token as a PARAMETER. */
  async updateMetadataV1(
    folderId: FileId,
    metadata: string,
    token: LockToken,
    o?: E2eeCallOptions,
  ): Promise<void> {
    await this.call('v1', {
      method: 'PUT',
      sub: `meta-data/${idPath(folderId)}`,
      form: [
        ['metaData', metadata],
        ['e2e-token', asLockToken(token)],
      ],
      ctx: this.ctx('Updating the legacy folder metadata'),
      signal: o?.signal,
    });
  }

  async deleteMetadataV1(folderId: FileId, o?: E2eeCallOptions): Promise<void> {
    await this.call('v1', {
      method: 'DELETE',
      sub: `meta-data/${idPath(folderId)}`,
      ctx: this.ctx('Deleting the legacy folder metadata'),
      signal: o?.signal,
    });
  }

  /** v1 lock: no counter; optional token parameter to re-acquire. */
  async lockV1(folderId: FileId, o?: LockOptions): Promise<LockToken> {
    const what = 'Locking the folder (legacy)';
    const form: Params = o?.token === undefined ? [] : [['e2e-token', asLockToken(o.token)]];
    const { data } = await this.call('v1', {
      method: 'POST',
      sub: `lock/${idPath(folderId)}`,
      ...(form.length > 0 ? { form } : {}),
      ctx: this.ctx(what, { lock: true }),
      signal: o?.signal,
    });
    return asLockToken(expectString(expectObject(data, what, 'data')['e2e-token'], what, 'e2e-token'));
  }

  async unlockV1(folderId: FileId, token: LockToken, o?: E2eeCallOptions): Promise<void> {
    await this.call('v1', {
      method: 'DELETE',
      sub: `lock/${idPath(folderId)}`,
      headers: { 'e2e-token': asLockToken(token) },
      ctx: this.ctx('Unlocking the folder (legacy)', { unlock: true }),
      signal: o?.signal,
    });
  }
}
