/**
 * Raw HTTP helpers for the conformance suite. Deliberately independent of lib/nextcloud: the point is to check the
 * server (or the stand-in) on its own terms, so every request is spelled out with plain `fetch`.
 */
import { expect } from 'vitest';
import type { Account, Target } from './target';
import { parseXml, type XmlElement } from './xml';

export const UA = 'cipherfold-conformance/1.0 (node)';
export const E2E = '/ocs/v2.php/apps/end_to_end_encryption/api/v2';
export const E2E_V1 = '/ocs/v2.php/apps/end_to_end_encryption/api/v1';
export const NS_DAV = 'DAV:';
export const NS_OC = 'http://owncloud.org/ns';
export const NS_NC = 'http://nextcloud.org/ns';

let paceMs = 0;
export function setPace(ms: number): void {
  paceMs = ms;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Res {
  status: number;
  headers: Headers;
  text: string;
  bytes: Uint8Array;
}

export interface OcsRes extends Res {
  /** Parsed JSON body (undefined when not JSON). */
  body: unknown;
  meta: { status?: string; statuscode?: number; message?: string };
  data: unknown;
}

export function basicAuth(a: Account): string {
  return 'Basic ' + Buffer.from(`${a.id}:${a.password}`).toString('base64');
}

export interface RawOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  redirect?: 'manual' | 'follow';
}

/** One paced request; never throws on HTTP errors. */
export async function raw(url: string, o: RawOptions = {}): Promise<Res> {
  if (paceMs > 0) await sleep(paceMs);
  const res = await fetch(url, {
    method: o.method ?? 'GET',
    headers: o.headers,
    body: o.body as BodyInit | undefined,
    redirect: o.redirect ?? 'manual',
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, bytes, text: Buffer.from(bytes).toString('utf8') };
}

export interface OcsOptions {
  /** Parameters sent as application/x-www-form-urlencoded body. */
  form?: Record<string, string>;
  /** Parameters sent as JSON body. */
  json?: unknown;
  /** Query parameters (format=json is always added unless `xml` is set). */
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Send X-E2EE-SUPPORTED: true (default true). */
  e2ee?: boolean;
  /** User-Agent (default: a browser-like UA that matches no allow-list regex). */
  ua?: string;
  /** Ask for the default (XML) format: no format=json, no Accept header. */
  xml?: boolean;
}

export interface DavOptions {
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  /** e2e-token header. */
  token?: string;
  e2ee?: boolean;
  ua?: string;
  depth?: '0' | '1' | 'infinity';
}

/** HTTP client acting as one user (or anonymously when `user` is undefined). */
export class Client {
  constructor(
    readonly t: Target,
    readonly user: Account | undefined,
  ) {}

  get id(): string {
    if (!this.user) throw new Error('anonymous client has no user id');
    return this.user.id;
  }

  private authHeaders(): Record<string, string> {
    return this.user ? { authorization: basicAuth(this.user) } : {};
  }

  async ocs(method: string, path: string, o: OcsOptions = {}): Promise<OcsRes> {
    const q = new URLSearchParams(o.query ?? {});
    if (!o.xml) q.set('format', 'json');
    const qs = q.toString();
    const headers: Record<string, string> = {
      'user-agent': o.ua ?? UA,
      'ocs-apirequest': 'true',
      ...(o.xml ? {} : { accept: 'application/json' }),
      ...this.authHeaders(),
      ...(o.e2ee === false ? {} : { 'x-e2ee-supported': 'true' }),
    };
    let body: string | undefined;
    if (o.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(o.form).toString();
    } else if (o.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.json);
    }
    Object.assign(headers, o.headers ?? {});
    const res = await raw(`${this.t.url}${path}${qs ? '?' + qs : ''}`, { method, headers, body });
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.text);
    } catch {
      parsed = undefined;
    }
    const ocs = (parsed as { ocs?: { meta?: OcsRes['meta']; data?: unknown } } | undefined)?.ocs;
    return { ...res, body: parsed, meta: ocs?.meta ?? {}, data: ocs?.data };
  }

  davUrl(path: string): string {
    const p = path.startsWith('/') ? path : '/' + path;
    return `${this.t.url}/remote.php/dav/files/${encodeURIComponent(this.id)}${encodePath(p)}`;
  }

  async dav(method: string, path: string, o: DavOptions = {}): Promise<Res> {
    return this.davRaw(method, this.davUrl(path), o);
  }

  async davRaw(method: string, url: string, o: DavOptions = {}): Promise<Res> {
    const headers: Record<string, string> = {
      'user-agent': o.ua ?? UA,
      ...this.authHeaders(),
      ...(o.e2ee === false ? {} : { 'x-e2ee-supported': 'true' }),
      ...(o.token ? { 'e2e-token': o.token } : {}),
      ...(o.depth ? { depth: o.depth } : {}),
      ...(o.headers ?? {}),
    };
    return raw(url, { method, headers, body: o.body });
  }

  async propfind(path: string, depth: '0' | '1', props: string[], o: DavOptions = {}): Promise<DavListing> {
    const res = await this.dav('PROPFIND', path, {
      ...o,
      depth,
      headers: { 'content-type': 'application/xml; charset=utf-8', ...(o.headers ?? {}) },
      body: propfindBody(props),
    });
    return { res, entries: res.status === 207 ? parseMultistatus(res.text) : [] };
  }
}

export function encodePath(p: string): string {
  return p
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

// ---------------------------------------------------------------------------------------------------------------
// Assertions

export function expectOneOf(actual: number, allowed: readonly number[], what = 'HTTP status'): void {
  expect(allowed, `${what} ${actual} is not one of ${allowed.join('/')}`).toContain(actual);
}

/** 2xx OCS success envelope with ocs/v2.php status mirroring. */
export function expectOcsOk(r: OcsRes): void {
  expect(r.status, `expected 200, got ${r.status}: ${r.text.slice(0, 300)}`).toBe(200);
  expect(r.meta.status).toBe('ok');
  expect(r.meta.statuscode).toBe(200);
}

/** OCS failure envelope; `status` may list several documented alternatives. */
export function expectOcsFail(r: OcsRes, status: number | readonly number[]): void {
  const allowed = typeof status === 'number' ? [status] : status;
  expectOneOf(r.status, allowed, `HTTP status (body ${r.text.slice(0, 200)})`);
  expect(r.body, 'OCS error answers carry a JSON envelope').toBeTypeOf('object');
  expect(r.meta.status).toBe('failure');
  // ocs/v2.php mirrors the HTTP status into meta.statuscode, except for core's internal codes:
  // 996 for unhandled exceptions (HTTP 500) and 997 for "not logged in" (HTTP 401), see the nc31 document.
  if (r.status === 500) expectOneOf(r.meta.statuscode ?? -1, [500, 996], 'meta.statuscode');
  else if (r.status === 401) expectOneOf(r.meta.statuscode ?? -1, [401, 997], 'meta.statuscode');
  else expect(r.meta.statuscode).toBe(r.status);
}

export function expectStatus(r: Res, allowed: number | readonly number[]): void {
  const list = typeof allowed === 'number' ? [allowed] : allowed;
  expect(list, `HTTP ${r.status} not in ${list.join('/')}: ${r.text.slice(0, 300)}`).toContain(r.status);
}

export function isEmptyData(d: unknown): boolean {
  return Array.isArray(d) && d.length === 0;
}

// ---------------------------------------------------------------------------------------------------------------
// WebDAV multistatus

const PREFIX: Record<string, string> = { d: NS_DAV, oc: NS_OC, nc: NS_NC };

export function propfindBody(props: string[]): string {
  const inner = props
    .map((p) => {
      const [pre, name] = p.split(':');
      return `<${pre}:${name}/>`;
    })
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<d:propfind xmlns:d="${NS_DAV}" xmlns:oc="${NS_OC}" xmlns:nc="${NS_NC}"><d:prop>${inner}</d:prop></d:propfind>`
  );
}

export interface PropValue {
  status: number;
  text: string;
  element: XmlElement;
}

export interface DavEntry {
  href: string;
  /** Decoded href path. */
  path: string;
  props: Map<string, PropValue>;
}

export interface DavListing {
  res: Res;
  entries: DavEntry[];
}

/** `prop(entry, 'nc:is-encrypted')` → the property if reported with a 200 propstat. */
export function prop(e: DavEntry | undefined, name: string): PropValue | undefined {
  if (!e) return undefined;
  const [pre, local] = name.split(':');
  return e.props.get(`{${PREFIX[pre!]}}${local}`);
}

export function propText(e: DavEntry | undefined, name: string): string | undefined {
  const p = prop(e, name);
  return p && p.status === 200 ? p.text : undefined;
}

export function parseMultistatus(text: string): DavEntry[] {
  const root = parseXml(text);
  if (root.ns !== NS_DAV || root.local !== 'multistatus') throw new Error('not a DAV multistatus document');
  const out: DavEntry[] = [];
  for (const r of root.children.filter((c) => c.ns === NS_DAV && c.local === 'response')) {
    const href = r.children.find((c) => c.ns === NS_DAV && c.local === 'href')?.text() ?? '';
    const props = new Map<string, PropValue>();
    for (const ps of r.children.filter((c) => c.ns === NS_DAV && c.local === 'propstat')) {
      const st = ps.children.find((c) => c.ns === NS_DAV && c.local === 'status')?.text() ?? '';
      const code = Number(/HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(st)?.[1] ?? 0);
      const p = ps.children.find((c) => c.ns === NS_DAV && c.local === 'prop');
      for (const el of p?.children ?? []) {
        props.set(`{${el.ns}}${el.local}`, { status: code, text: el.text(), element: el });
      }
    }
    out.push({ href, path: decodeURIComponent(href), props });
  }
  return out;
}

/** Entry whose decoded href ends with `/name` or `/name/`. */
export function entryNamed(entries: DavEntry[], name: string): DavEntry | undefined {
  return entries.find((e) => e.path.replace(/\/$/, '').endsWith('/' + name));
}

/** Names of the children in a Depth-1 listing of the collection `self` (a DAV path below the user's root). */
export function childNames(l: DavListing, self: string): string[] {
  const selfTail = self.replace(/\/+$/, '');
  return l.entries
    .map((e) => e.path.replace(/\/+$/, ''))
    .filter((p) => !p.endsWith(selfTail))
    .map((p) => p.split('/').pop() ?? '');
}

export function rand(n = 6): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(n))).toString('hex');
}

/** 32 lowercase hex characters, the name format used inside encrypted folders. */
export function uuidName(): string {
  return crypto.randomUUID().replace(/-/g, '');
}

/** Numeric file id from an `OC-FileId` header (`00000123oc…`). */
export function fileIdFromHeader(v: string | null): number | undefined {
  const m = v ? /^(\d+)/.exec(v) : null;
  return m ? Number(m[1]) : undefined;
}
