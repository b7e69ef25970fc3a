/** OCS envelopes (JSON or XML, ocs/v1.php or ocs/v2.php semantics). */
import { header, send, type Ctx } from './http';

export interface OcsMeta {
  status: 'ok' | 'failure';
  statuscode: number;
  message: string;
}

function wantsJson(ctx: Ctx): boolean {
  const f = ctx.url.searchParams.get('format');
  if (f) return f.toLowerCase() === 'json';
  return (header(ctx, 'accept') ?? '').toLowerCase().includes('application/json');
}

function isV1(ctx: Ctx): boolean {
  return ctx.path.startsWith('/ocs/v1.php');
}

function xmlEscape(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

function toXml(v: unknown, indent: string): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) {
    return v
      .map(
        (x) => `\n${indent}<element>${toXml(x, indent + ' ')}${isComplex(x) ? '\n' + indent : ''}</element>`,
      )
      .join('');
  }
  if (typeof v === 'object') {
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => {
        const tag = /^[A-Za-z_][\w.-]*$/.test(k) ? k : 'element';
        return `\n${indent}<${tag}>${toXml(x, indent + ' ')}${isComplex(x) ? '\n' + indent : ''}</${tag}>`;
      })
      .join('');
  }
  if (typeof v === 'boolean') return v ? '1' : '';
  return xmlEscape(String(v));
}

function isComplex(x: unknown): boolean {
  return x !== null && typeof x === 'object' && (Array.isArray(x) ? x.length > 0 : Object.keys(x).length > 0);
}

export function ocsSend(
  ctx: Ctx,
  httpStatus: number,
  meta: OcsMeta,
  data: unknown,
  headers: Record<string, string> = {},
): void {
  let status = httpStatus;
  const m = { ...meta };
  if (isV1(ctx)) {
    // v1: HTTP 200 (except 401), real status inside the envelope, 100 = OK
    if (m.status === 'ok') m.statuscode = 100;
    if (status !== 401) status = 200;
  }
  if (wantsJson(ctx)) {
    send(ctx, status, JSON.stringify({ ocs: { meta: m, data } }), {
      'Content-Type': 'application/json; charset=utf-8',
      ...headers,
    });
  } else {
    const xml =
      `<?xml version="1.0"?>\n<ocs>\n <meta>\n  <status>${m.status}</status>\n  <statuscode>${m.statuscode}</statuscode>\n` +
      `  <message>${xmlEscape(m.message)}</message>\n </meta>\n <data>${toXml(data, '  ')}${isComplex(data) ? '\n ' : ''}</data>\n</ocs>\n`;
    send(ctx, status, xml, { 'Content-Type': 'application/xml; charset=utf-8', ...headers });
  }
}

/** 200 OK with data. */
export function ocsOk(ctx: Ctx, data: unknown, headers: Record<string, string> = {}): void {
  ocsSend(ctx, 200, { status: 'ok', statuscode: 200, message: 'OK' }, data, headers);
}

/** Thrown OCS exception shape: data=[], meta.message = message. */
export function ocsThrown(ctx: Ctx, status: number, message: string): void {
  ocsSend(ctx, status, { status: 'failure', statuscode: status, message }, []);
}

/** Explicit DataResponse error shape: data={message}. */
export function ocsDataError(ctx: Ctx, status: number, message: string): void {
  ocsSend(ctx, status, { status: 'failure', statuscode: status, message: '' }, { message });
}

/** Explicit error with empty data (the 409s). */
export function ocsEmptyError(ctx: Ctx, status: number): void {
  ocsSend(ctx, status, { status: 'failure', statuscode: status, message: '' }, []);
}

/** Unhandled exception: HTTP 500, statuscode 996. */
export function ocs500(ctx: Ctx): void {
  ocsSend(ctx, 500, { status: 'failure', statuscode: 996, message: 'Internal Server Error\n' }, []);
}

/** Not logged in: HTTP 401, statuscode 997. */
export function ocs401(ctx: Ctx): void {
  ocsSend(ctx, 401, { status: 'failure', statuscode: 997, message: 'Current user is not logged in' }, []);
}
