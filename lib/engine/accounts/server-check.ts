/**
 * Connect-time checks that the Nextcloud client does not cover: status.php ("is this a Nextcloud at
 * all?"), the display name, turning a login password typed into the manual form into an app password,
 * and re-confirming the login password before the recovery words are shown.
 */
import { fail, isCipherfoldError } from '../../errors';
import { normalizeBaseUrl, type FetchLike } from '../../nextcloud';
import { basicAuth, networkError } from '../../nextcloud/http';

export interface ServerInfo {
  serverUrl: string;
  origin: string;
  productName: string;
  version: string;
}

const TIMEOUT_MS = 15_000;

function hostOf(url: string): string {
  return new URL(url).host;
}

async function timedFetch(f: FetchLike, url: string, init: RequestInit, what: string): Promise<Response> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
  try {
    return await f(url, { ...init, signal: ctrl.signal, credentials: 'omit', redirect: 'follow' });
  } catch (e) {
    const reason = ctrl.signal.aborted ? 'timeout' : 'error';
    const err = networkError(e, { what }, reason);
    // In browsers a TLS failure and an unreachable host look the same ("Failed to fetch"): say both.
    if (
      reason === 'error' &&
      err.kind === 'network' &&
      (err.detail === undefined || err.detail === 'TypeError')
    ) {
      throw fail(
        'network',
        `${what} failed: ${hostOf(url)} could not be reached, or its security (TLS) certificate is not trusted by this browser. The address may be wrong or the server may be down. Open the address in a browser tab to see which, then try again.`,
        { cause: e },
      );
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** GET status.php: the server must be an installed Nextcloud that is not in maintenance. */
export async function checkServer(f: FetchLike, input: string): Promise<ServerInfo> {
  const serverUrl = normalizeBaseUrl(input);
  const host = hostOf(serverUrl);
  const what = `Contacting ${host}`;
  const res = await timedFetch(
    f,
    `${serverUrl}/status.php`,
    { method: 'GET', headers: { Accept: 'application/json' } },
    what,
  );
  const finalUrl = res.url || `${serverUrl}/status.php`;
  const movedTo = new URL(finalUrl).origin;
  if (movedTo !== new URL(serverUrl).origin) {
    await res.body?.cancel().catch(() => undefined);
    throw fail(
      'format',
      `${host} sends visitors on to ${new URL(finalUrl).host}. Your Nextcloud probably lives at that address. Enter ${movedTo} instead and try again.`,
    );
  }
  const notNextcloud = () =>
    fail(
      'not-found',
      `${host} does not look like a Nextcloud server: it has no Nextcloud status page (status.php). The address may point to another web site or miss a path such as /nextcloud. Enter the address you open Nextcloud at in your browser.`,
    );
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw notNextcloud();
  }
  let json: unknown;
  try {
    const text = await res.text();
    if (text.length > 64 * 1024) throw new Error('too long');
    json = JSON.parse(text);
  } catch {
    throw notNextcloud();
  }
  if (typeof json !== 'object' || json === null || !('installed' in json)) throw notNextcloud();
  const s = json as Record<string, unknown>;
  if (s['installed'] !== true) {
    throw fail(
      'server',
      `The Nextcloud at ${host} is not set up yet. Its administrator has not finished the installation. Try again once it is set up.`,
    );
  }
  if (s['maintenance'] === true || s['needsDbUpgrade'] === true) {
    throw fail(
      'server',
      `The Nextcloud at ${host} is in maintenance mode or being upgraded. It cannot sign you in right now. Try again in a few minutes.`,
    );
  }
  const str = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : '');
  return {
    serverUrl,
    origin: new URL(serverUrl).origin,
    productName: str(s['productname'], 128) || 'Nextcloud',
    version: str(s['versionstring'], 64) || str(s['version'], 64),
  };
}

async function ocsGet(
  f: FetchLike,
  serverUrl: string,
  path: string,
  loginName: string,
  password: string,
  what: string,
): Promise<{ status: number; data: Record<string, unknown> | undefined }> {
  const res = await timedFetch(
    f,
    `${serverUrl}/ocs/v2.php/${path}?format=json`,
    {
      method: 'GET',
      headers: {
        Accept: 'application/json',
        'OCS-APIRequest': 'true',
        Authorization: basicAuth(loginName, password),
      },
    },
    what,
  );
  let data: Record<string, unknown> | undefined;
  try {
    const json = (await res.json()) as { ocs?: { data?: unknown } };
    const d = json.ocs?.data;
    if (typeof d === 'object' && d !== null && !Array.isArray(d)) data = d as Record<string, unknown>;
  } catch {
    data = undefined;
  }
  return { status: res.status, data };
}

/** `GET cloud/user` with these credentials: the user id and display name, or an `auth` error. */
export async function whoAmI(
  f: FetchLike,
  serverUrl: string,
  loginName: string,
  password: string,
): Promise<{ userId: string; displayName: string }> {
  const { status, data } = await ocsGet(f, serverUrl, 'cloud/user', loginName, password, 'Signing in');
  if (status === 401 || status === 403) {
    throw fail(
      'auth',
      'Nextcloud did not accept this login name and password. They may be mistyped, or the app password may have been revoked. Check them and try again.',
      { detail: `HTTP ${status}` },
    );
  }
  const id = data?.['id'];
  if (status !== 200 || typeof id !== 'string' || id === '') {
    throw fail(
      'server',
      `Signing in failed: the server answered unexpectedly (HTTP ${status}). It may not be a Nextcloud, or it may be misconfigured. Try again later.`,
    );
  }
  const dn = data?.['displayname'] ?? data?.['display-name'];
  return { userId: id, displayName: typeof dn === 'string' && dn !== '' ? dn.slice(0, 512) : id };
}

/**
 * The manual form may receive the real login password: exchange it for an app password
 * (`GET core/getapppassword`, what official clients do) so that the login password is never stored.
 * Returns the password to store (the given one when it already is an app password).
 */
export async function ensureAppPassword(
  f: FetchLike,
  serverUrl: string,
  loginName: string,
  password: string,
): Promise<{ appPassword: string; exchanged: boolean }> {
  const { status, data } = await ocsGet(
    f,
    serverUrl,
    'core/getapppassword',
    loginName,
    password,
    'Signing in',
  );
  const got = data?.['apppassword'];
  if (status === 200 && typeof got === 'string' && got.length >= 16)
    return { appPassword: got, exchanged: true };
  if (status === 403) return { appPassword: password, exchanged: false }; // already an app password
  if (status === 401) {
    throw fail(
      'auth',
      'Nextcloud did not accept this login name and password. They may be mistyped, or the app password may have been revoked. Check them and try again.',
    );
  }
  throw fail(
    'server',
    `Signing in failed: the server answered unexpectedly (HTTP ${status}). Try again later, or use "Sign in with Nextcloud" instead.`,
  );
}

/**
 * Re-confirms the user's Nextcloud password (before showing the recovery words): a Basic-auth request
 * to `cloud/user` that must succeed for the expected user id.
 */
export async function confirmPassword(
  f: FetchLike,
  serverUrl: string,
  loginName: string,
  userId: string,
  password: string,
): Promise<void> {
  try {
    const me = await whoAmI(f, serverUrl, loginName, password);
    if (me.userId !== userId) throw fail('auth', 'wrong user');
  } catch (e) {
    if (isCipherfoldError(e, 'auth')) {
      throw fail(
        'auth',
        'That is not the password of this Nextcloud account. The recovery words stay hidden. Type the password you sign in to Nextcloud with (with two-factor sign-in, an app password of this account works too).',
      );
    }
    throw e;
  }
}
