/** OCS (`/ocs/v2.php/…?format=json`) calls and small validators for their JSON payloads. */
import { fail, isCipherfoldError } from '../errors';
import { type ErrorContext, type Http, encodeParams, readTextLimited, statusError } from './http';

export type Params = ReadonlyArray<readonly [string, string]>;

export interface OcsCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below `/ocs/v2.php/`, already URL-safe (ids are digits). */
  path: string;
  query?: Params;
  /** Sent as `application/x-www-form-urlencoded` body. */
  form?: Params;
  headers?: Record<string, string>;
  ctx: ErrorContext;
  signal?: AbortSignal | undefined;
}

export interface OcsResult {
  data: unknown;
  headers: Headers;
}

const MAX_OCS_BODY = 128 * 1024 * 1024;

export function unexpected(what: string, detail: string): Error {
  return fail(
    'server',
    `${what} failed: Nextcloud sent an answer in an unexpected shape. The server version may be unsupported or a proxy may have changed the answer. Try again; if it persists, ask the server admin.`,
    { detail },
  );
}

export function ocsUrl(baseUrl: string, call: Pick<OcsCall, 'path' | 'query'>): string {
  const q = encodeParams([...(call.query ?? []), ['format', 'json']]);
  return `${baseUrl}/ocs/v2.php/${call.path}?${q}`;
}

export async function ocsRequest(http: Http, baseUrl: string, call: OcsCall): Promise<OcsResult> {
  const headers: Record<string, string> = {
    'OCS-APIRequest': 'true',
    Accept: 'application/json',
    ...(call.headers ?? {}),
  };
  let body: string | undefined;
  if (call.form !== undefined) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded; charset=UTF-8';
    body = encodeParams(call.form);
  }
  const req = {
    method: call.method,
    url: ocsUrl(baseUrl, call),
    headers,
    body,
    signal: call.signal,
    ctx: call.ctx,
  };
  const res = await http.request(req);
  let text: string;
  try {
    const r = await readTextLimited(res, MAX_OCS_BODY);
    if (r.truncated) throw unexpected(call.ctx.what, 'OCS body too large');
    text = r.text;
  } catch (e) {
    if (isCipherfoldError(e)) throw e;
    throw fail(
      'network',
      `${call.ctx.what} failed: the answer was cut off. The connection may have dropped. Try again.`,
      {
        cause: e,
      },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw unexpected(call.ctx.what, `HTTP ${res.status}; body is not JSON`);
  }
  const ocs = isObject(json) ? json['ocs'] : undefined;
  if (!isObject(ocs) || !isObject(ocs['meta']))
    throw unexpected(call.ctx.what, `HTTP ${res.status}; no OCS envelope`);
  const meta = ocs['meta'];
  if (meta['status'] === 'failure') {
    const sc = typeof meta['statuscode'] === 'number' ? meta['statuscode'] : undefined;
    const msg = typeof meta['message'] === 'string' ? meta['message'] : undefined;
    const status = sc !== undefined && sc >= 400 && sc < 600 ? sc : 500;
    throw statusError(status, { ocsStatus: sc, message: msg }, call.ctx, call.method);
  }
  return { data: ocs['data'], headers: res.headers };
}

// ---- validators ----

export function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function expectObject(x: unknown, what: string, field: string): Record<string, unknown> {
  if (!isObject(x)) throw unexpected(what, `${field}: expected an object`);
  return x;
}

export function expectString(x: unknown, what: string, field: string): string {
  if (typeof x !== 'string') throw unexpected(what, `${field}: expected a string`);
  return x;
}

export function optString(x: unknown): string | undefined {
  return typeof x === 'string' ? x : typeof x === 'number' && Number.isFinite(x) ? String(x) : undefined;
}

export function optNumber(x: unknown): number | undefined {
  if (typeof x === 'number' && Number.isFinite(x)) return x;
  if (typeof x === 'string' && /^-?\d+$/.test(x.trim())) return Number(x.trim());
  return undefined;
}

/** Accepts `true`, `1`, `"1"`, `"true"` as true. */
export function optBool(x: unknown): boolean | undefined {
  if (typeof x === 'boolean') return x;
  if (x === 1 || x === '1' || x === 'true') return true;
  if (x === 0 || x === '0' || x === 'false' || x === '') return false;
  return undefined;
}
