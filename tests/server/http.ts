/** Request context, body/parameter parsing and small response helpers. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  url: URL;
  /** decoded pathname */
  path: string;
  /** raw (still percent-encoded) pathname */
  rawPath: string;
  body: Buffer;
  /** the authenticated user id, if any */
  user?: string;
  /** how the user authenticated */
  authKind?: 'password' | 'apppassword' | 'session';
  /** the app password used (for DELETE core/apppassword) */
  appPassword?: string;
  /** session id when authenticated by cookie */
  sessionId?: string;
  /** status that was sent, for the request log */
  status?: number;
}

export function header(ctx: Ctx, name: string): string | undefined {
  const v = ctx.req.headers[name.toLowerCase()];
  if (Array.isArray(v)) return v[0];
  return v;
}

let parsedCache = new WeakMap<Ctx, Record<string, unknown>>();

/** Parameters from form body, JSON body and query (body wins), like Nextcloud's request object. */
export function params(ctx: Ctx): Record<string, unknown> {
  const cached = parsedCache.get(ctx);
  if (cached) return cached;
  const out: Record<string, unknown> = {};
  for (const [k, v] of ctx.url.searchParams) out[k] = v;
  const ct = (header(ctx, 'content-type') ?? '').toLowerCase();
  const text = ctx.body.length ? ctx.body.toString('utf8') : '';
  if (text) {
    if (ct.includes('application/json')) {
      try {
        const j = JSON.parse(text) as unknown;
        if (j && typeof j === 'object' && !Array.isArray(j)) Object.assign(out, j as Record<string, unknown>);
      } catch {
        /* ignore */
      }
    } else if (ct.includes('application/x-www-form-urlencoded') || ct === '') {
      for (const [k, v] of new URLSearchParams(text)) out[k] = v;
    }
  }
  parsedCache.set(ctx, out);
  return out;
}

export function resetParamCache(): void {
  parsedCache = new WeakMap();
}

export function param(ctx: Ctx, name: string): string | undefined {
  const v = params(ctx)[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

export function rawParam(ctx: Ctx, name: string): unknown {
  return params(ctx)[name];
}

export function send(
  ctx: Ctx,
  status: number,
  body: string | Buffer,
  headers: Record<string, string | number | string[]> = {},
): void {
  ctx.status = status;
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  ctx.res.writeHead(status, { 'Content-Length': buf.length, ...headers });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : buf);
}

export function sendJson(
  ctx: Ctx,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  send(ctx, status, JSON.stringify(value), { 'Content-Type': 'application/json; charset=utf-8', ...headers });
}

export function sendHtml(
  ctx: Ctx,
  status: number,
  html: string,
  headers: Record<string, string | string[]> = {},
): void {
  send(ctx, status, html, { 'Content-Type': 'text/html; charset=utf-8', ...headers });
}

export function redirect(ctx: Ctx, location: string, headers: Record<string, string | string[]> = {}): void {
  send(ctx, 303, '', { Location: location, ...headers });
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function parseCookies(ctx: Ctx): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header(ctx, 'cookie') ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

export function baseUrl(ctx: Ctx): string {
  return `http://${header(ctx, 'host') ?? '127.0.0.1'}`;
}
