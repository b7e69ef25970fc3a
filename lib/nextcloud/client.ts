/**
 * `NextcloudClient`: typed HTTP access to a Nextcloud server (OCS core, E2EE app, WebDAV, sharing,
 * provisioning, Login Flow v2). Injectable `fetch`, no crypto, portable (Node 20 and browsers).
 */
import { fail } from '../errors';
import { DavApi } from './dav';
import { E2eeApi } from './e2ee';
import { Http, basicAuth, encodeParams, readTextLimited } from './http';
import { asUserId } from './ids';
import {
  expectObject,
  expectString,
  isObject,
  ocsRequest,
  optBool,
  optNumber,
  optString,
  unexpected,
} from './ocs';
import { ProvisioningApi, SharingApi } from './sharing';
import type {
  Capabilities,
  E2eeApiFamily,
  E2eeCapability,
  FetchLike,
  LoginFlowResult,
  LoginFlowStart,
  NextcloudClientOptions,
  UserId,
} from './types';

/** Validates and normalises a server URL: http(s), no credentials/query/fragment, no trailing slash;
 * a pasted `…/index.php/…` tail is cut off. Keeps a sub-path (`https://host/nextcloud`). */
export function normalizeBaseUrl(input: string): string {
  let u: URL;
  try {
    u = new URL(input.trim());
  } catch {
    throw fail(
      'format',
      'The server address is not a valid URL. It may be mistyped. Enter it like https://cloud.example.com.',
    );
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw fail(
      'format',
      'The server address must start with https:// (or http://). Other schemes cannot work. Correct the address.',
    );
  }
  if (u.username !== '' || u.password !== '') {
    throw fail(
      'format',
      'The server address contains a user name or password. Credentials do not belong in the address. Remove them.',
    );
  }
  let path = u.pathname;
  const idx = path.indexOf('/index.php');
  if (idx !== -1) path = path.slice(0, idx);
  path = path.replace(/\/+$/, '');
  return `${u.origin}${path}`;
}

/** `v2` for E2EE api-version ≥ 2 ("2.0", "2.1"), else `v1`. */
export function e2eeApiFamilyFor(apiVersion: string): E2eeApiFamily {
  const major = Number.parseFloat(apiVersion);
  return Number.isFinite(major) && major >= 2 ? 'v2' : 'v1';
}

function httpUrl(x: unknown, what: string, field: string): string {
  const s = expectString(x, what, field);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw unexpected(what, `${field}: not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw unexpected(what, `${field}: not an http(s) URL`);
  return s;
}

export class NextcloudClient {
  readonly baseUrl: string;
  readonly e2ee: E2eeApi;
  readonly dav: DavApi;
  readonly shares: SharingApi;
  readonly users: ProvisioningApi;
  private readonly http: Http;
  private userIdValue: UserId | undefined;
  private userIdPromise: Promise<UserId> | undefined;

  constructor(opts: NextcloudClientOptions) {
    this.baseUrl = normalizeBaseUrl(opts.baseUrl);
    const f: FetchLike = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.http = new Http({
      fetch: f,
      authorization:
        opts.auth === undefined ? undefined : basicAuth(opts.auth.loginName, opts.auth.appPassword),
      userAgent: opts.userAgent,
      timeoutMs: opts.timeoutMs ?? 60_000,
    });
    this.userIdValue = opts.userId === undefined ? undefined : asUserId(opts.userId);
    this.e2ee = new E2eeApi(this.http, this.baseUrl, opts.e2eeApi ?? 'v2');
    this.dav = new DavApi(this.http, this.baseUrl, () => this.userId());
    this.shares = new SharingApi(this.http, this.baseUrl);
    this.users = new ProvisioningApi(this.http, this.baseUrl);
  }

  /** `GET /ocs/v2.php/cloud/capabilities`. */
  async getCapabilities(signal?: AbortSignal): Promise<Capabilities> {
    const what = 'Reading the server capabilities';
    const { data } = await ocsRequest(this.http, this.baseUrl, {
      method: 'GET',
      path: 'cloud/capabilities',
      ctx: { what },
      signal,
    });
    const d = expectObject(data, what, 'data');
    const v = d['version'];
    const version = isObject(v)
      ? {
          major: optNumber(v['major']) ?? 0,
          minor: optNumber(v['minor']) ?? 0,
          micro: optNumber(v['micro']) ?? 0,
          string: optString(v['string']) ?? '',
        }
      : undefined;
    const caps = isObject(d['capabilities']) ? d['capabilities'] : {};
    const e = caps['end-to-end-encryption'];
    let e2ee: E2eeCapability | undefined;
    if (isObject(e)) {
      e2ee = {
        enabled: optBool(e['enabled']) ?? false,
        apiVersion: optString(e['api-version']) ?? '',
        keysExist: optBool(e['keys-exist']) ?? false,
      };
    }
    const theming = caps['theming'];
    const color = isObject(theming) ? optString(theming['color']) : undefined;
    return { version, e2ee, themingColor: color !== undefined && color !== '' ? color : undefined };
  }

  /** `GET /ocs/v2.php/cloud/user` → the user id (may differ from the login name). Caches it. */
  async getCurrentUserId(signal?: AbortSignal): Promise<UserId> {
    const what = 'Reading your account';
    const { data } = await ocsRequest(this.http, this.baseUrl, {
      method: 'GET',
      path: 'cloud/user',
      ctx: { what },
      signal,
    });
    const id = asUserId(expectString(expectObject(data, what, 'data')['id'], what, 'id'));
    this.userIdValue = id;
    return id;
  }

  /** The user id, resolved once (from the options or the server). */
  userId(): Promise<UserId> {
    if (this.userIdValue !== undefined) return Promise.resolve(this.userIdValue);
    this.userIdPromise ??= this.getCurrentUserId().finally(() => {
      this.userIdPromise = undefined;
    });
    return this.userIdPromise;
  }

  /** `DELETE /ocs/v2.php/core/apppassword`: revokes the app password this client uses. */
  async revokeAppPassword(signal?: AbortSignal): Promise<void> {
    await ocsRequest(this.http, this.baseUrl, {
      method: 'DELETE',
      path: 'core/apppassword',
      ctx: { what: 'Signing out' },
      signal,
    });
  }

  /** Login Flow v2 step 1: `POST /index.php/login/v2`. */
  async startLoginFlow(signal?: AbortSignal): Promise<LoginFlowStart> {
    const what = 'Starting the sign-in';
    const req = {
      method: 'POST',
      url: `${this.baseUrl}/index.php/login/v2`,
      headers: { Accept: 'application/json' },
      signal,
      ctx: { what },
    };
    const json = await this.readJson(await this.http.request(req), what);
    const o = expectObject(json, what, 'body');
    const poll = expectObject(o['poll'], what, 'poll');
    return {
      pollToken: expectString(poll['token'], what, 'poll.token'),
      pollEndpoint: httpUrl(poll['endpoint'], what, 'poll.endpoint'),
      loginUrl: httpUrl(o['login'], what, 'login'),
    };
  }

  /**
   * Login Flow v2 step 2: poll once. 404 → pending. The poll token is only sent to the server's own
   * origin: a poll endpoint on another origin is replaced by `<baseUrl>/index.php/login/v2/poll`.
   */
  async pollLoginFlow(start: LoginFlowStart, signal?: AbortSignal): Promise<LoginFlowResult> {
    const what = 'Checking the sign-in';
    let url = `${this.baseUrl}/index.php/login/v2/poll`;
    try {
      if (new URL(start.pollEndpoint).origin === new URL(this.baseUrl).origin) url = start.pollEndpoint;
    } catch {
      /* keep default */
    }
    const req = {
      method: 'POST',
      url,
      headers: {
        Accept: 'application/json',
        'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8',
      },
      body: encodeParams([['token', start.pollToken]]),
      signal,
      ctx: { what },
    };
    const res = await this.http.request(req, (s) => (s >= 200 && s < 300) || s === 404);
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      return { status: 'pending' };
    }
    const o = expectObject(await this.readJson(res, what), what, 'body');
    return {
      status: 'granted',
      server: httpUrl(o['server'], what, 'server'),
      loginName: expectString(o['loginName'], what, 'loginName'),
      appPassword: expectString(o['appPassword'], what, 'appPassword'),
    };
  }

  private async readJson(res: Response, what: string): Promise<unknown> {
    const { text, truncated } = await readTextLimited(res, 1024 * 1024);
    if (truncated) throw unexpected(what, 'body too large');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw unexpected(what, `HTTP ${res.status}; body is not JSON`);
    }
  }
}
