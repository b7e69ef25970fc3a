/** OCS sharing API (`/ocs/v2.php/apps/files_sharing/api/v1/…`) and user provisioning for test setups. */
import type { Http } from './http';
import { asFileId, asShareId, asShareToken, asUserId } from './ids';
import { type Params, expectObject, isObject, ocsRequest, optNumber, optString, unexpected } from './ocs';
import type { Share, ShareId, ShareType, Sharee, UserId } from './types';

const SHARES = 'apps/files_sharing/api/v1/shares';

export interface CreateShareOptions {
  /** Path relative to the user's files root, e.g. "/Secret". */
  path: string;
  shareType: ShareType;
  /** Recipient user id for user shares. */
  shareWith?: string;
  permissions?: number;
  /** Link-share password. */
  password?: string;
  signal?: AbortSignal;
}

export interface ListSharesOptions {
  path?: string;
  reshares?: boolean;
  subfiles?: boolean;
  signal?: AbortSignal;
}

export interface ShareeSearchOptions {
  itemType?: 'file' | 'folder';
  shareTypes?: readonly ShareType[];
  perPage?: number;
  signal?: AbortSignal;
}

function optId(x: unknown): string | undefined {
  const s = optString(x);
  return s === undefined || s === '' ? undefined : s;
}

export function parseShare(x: unknown, what: string): Share {
  const o = expectObject(x, what, 'share');
  const id = optId(o['id']);
  const shareType = optNumber(o['share_type']);
  if (id === undefined || shareType === undefined) throw unexpected(what, 'share: missing id or share_type');
  const fileSource = optId(o['file_source']) ?? optId(o['item_source']);
  const token = optId(o['token']);
  const owner = optId(o['uid_owner']);
  const fileOwner = optId(o['uid_file_owner']);
  return {
    id: asShareId(id),
    shareType,
    shareWith: optId(o['share_with']),
    permissions: optNumber(o['permissions']) ?? 0,
    token: token === undefined ? undefined : asShareToken(token),
    path: optString(o['path']),
    fileId: fileSource !== undefined && /^\d+$/.test(fileSource) ? asFileId(fileSource) : undefined,
    itemType: optString(o['item_type']),
    uidOwner: owner === undefined ? undefined : asUserId(owner),
    uidFileOwner: fileOwner === undefined ? undefined : asUserId(fileOwner),
    url: optString(o['url']),
  };
}

function normalizeSharePath(p: string): string {
  return (
    '/' +
    p
      .split('/')
      .filter((s) => s !== '')
      .join('/')
  );
}

export class SharingApi {
  constructor(
    private readonly http: Http,
    private readonly baseUrl: string,
  ) {}

  async create(o: CreateShareOptions): Promise<Share> {
    const what = 'Creating the share';
    const form: [string, string][] = [
      ['path', normalizeSharePath(o.path)],
      ['shareType', String(o.shareType)],
    ];
    if (o.shareWith !== undefined) form.push(['shareWith', o.shareWith]);
    if (o.permissions !== undefined) form.push(['permissions', String(o.permissions)]);
    if (o.password !== undefined) form.push(['password', o.password]);
    const { data } = await ocsRequest(this.http, this.baseUrl, {
      method: 'POST',
      path: SHARES,
      form,
      ctx: { what },
      signal: o.signal,
    });
    return parseShare(data, what);
  }

  async list(o: ListSharesOptions = {}): Promise<Share[]> {
    const what = 'Listing shares';
    const query: [string, string][] = [];
    if (o.path !== undefined) query.push(['path', normalizeSharePath(o.path)]);
    if (o.reshares !== undefined) query.push(['reshares', String(o.reshares)]);
    if (o.subfiles !== undefined) query.push(['subfiles', String(o.subfiles)]);
    const { data } = await ocsRequest(this.http, this.baseUrl, {
      method: 'GET',
      path: SHARES,
      query,
      ctx: { what },
      signal: o.signal,
    });
    if (!Array.isArray(data)) throw unexpected(what, 'data: expected an array');
    return data.map((s: unknown) => parseShare(s, what));
  }

  async get(id: ShareId, signal?: AbortSignal): Promise<Share> {
    const what = 'Reading the share';
    const { data } = await ocsRequest(this.http, this.baseUrl, {
      method: 'GET',
      path: `${SHARES}/${encodeURIComponent(asShareId(id))}`,
      ctx: { what },
      signal,
    });
    const first: unknown = Array.isArray(data) ? data[0] : data;
    return parseShare(first, what);
  }

  async updatePermissions(id: ShareId, permissions: number, signal?: AbortSignal): Promise<Share> {
    const what = 'Changing the share permissions';
    const { data } = await ocsRequest(this.http, this.baseUrl, {
      method: 'PUT',
      path: `${SHARES}/${encodeURIComponent(asShareId(id))}`,
      form: [['permissions', String(permissions)]],
      ctx: { what },
      signal,
    });
    return parseShare(data, what);
  }

  async delete(id: ShareId, signal?: AbortSignal): Promise<void> {
    await ocsRequest(this.http, this.baseUrl, {
      method: 'DELETE',
      path: `${SHARES}/${encodeURIComponent(asShareId(id))}`,
      ctx: { what: 'Removing the share' },
      signal,
    });
  }

  /** Sharee search (default: users, item type folder). Exact matches first. */
  async searchSharees(search: string, o: ShareeSearchOptions = {}): Promise<Sharee[]> {
    const what = 'Searching for people to share with';
    const query: [string, string][] = [
      ['search', search],
      ['itemType', o.itemType ?? 'folder'],
      ...(o.shareTypes ?? [0]).map((t): [string, string] => ['shareType[]', String(t)]),
    ];
    if (o.perPage !== undefined) query.push(['perPage', String(o.perPage)]);
    const { data } = await ocsRequest(this.http, this.baseUrl, {
      method: 'GET',
      path: 'apps/files_sharing/api/v1/sharees',
      query,
      ctx: { what },
      signal: o.signal,
    });
    const d = expectObject(data, what, 'data');
    const out: Sharee[] = [];
    const seen = new Set<string>();
    const collect = (group: unknown, exact: boolean): void => {
      if (!isObject(group)) return;
      for (const list of Object.values(group)) {
        if (!Array.isArray(list)) continue;
        for (const item of list) {
          if (!isObject(item) || !isObject(item['value'])) continue;
          const shareWith = optString(item['value']['shareWith']);
          const shareType = optNumber(item['value']['shareType']);
          if (shareWith === undefined || shareType === undefined) continue;
          const key = `${shareType}\u0000${shareWith}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.push({ shareWith, shareType, label: optString(item['label']) ?? shareWith, exact });
        }
      }
    };
    collect(d['exact'], true);
    const { exact: _exact, ...rest } = d;
    collect(rest, false);
    return out;
  }
}

/** Provisioning API (admin only), for test setups against a real server. */
export class ProvisioningApi {
  constructor(
    private readonly http: Http,
    private readonly baseUrl: string,
  ) {}

  async createUser(
    userId: string,
    password: string,
    extra: { displayName?: string; email?: string } = {},
  ): Promise<UserId> {
    const what = 'Creating the user';
    const form: Params = [
      ['userid', userId],
      ['password', password],
      ...(extra.displayName === undefined ? [] : [['displayName', extra.displayName] as const]),
      ...(extra.email === undefined ? [] : [['email', extra.email] as const]),
    ];
    const { data } = await ocsRequest(this.http, this.baseUrl, {
      method: 'POST',
      path: 'cloud/users',
      form,
      ctx: { what },
    });
    const id = isObject(data) ? optString(data['id']) : undefined;
    return asUserId(id ?? userId);
  }

  async deleteUser(userId: string): Promise<void> {
    await ocsRequest(this.http, this.baseUrl, {
      method: 'DELETE',
      path: `cloud/users/${encodeURIComponent(asUserId(userId))}`,
      ctx: { what: 'Deleting the user' },
    });
  }
}
