/**
 * Transport core: header policy, timeouts/abort, network-error classification and status → typed error
 * mapping. Used by the OCS and WebDAV modules. Never puts credentials or response bodies into errors;
 * only status codes, OCS status codes and (truncated) server messages go into `detail`.
 */
import { CipherfoldError, fail, isCipherfoldError } from '../errors';
import { toBase64, utf8 } from '../crypto/bytes';
import { NS_SABRE, firstChild, parseXml, textContent } from './xml';
import type { FetchInit, FetchLike } from './types';

export interface ErrorContext {
  /** What was attempted, as the start of a sentence: "Locking the folder". */
  what: string;
  /** POST lock: HTTP 500 is how Nextcloud 31 (E2EE 1.17.3) reports a counter conflict. */
  lock?: boolean;
  /** DELETE lock: 403 (main) / 404 (1.17.3) mean "not locked by this token". */
  unlock?: boolean;
}

export type RequestBody = string | Uint8Array | ReadableStream<Uint8Array>;

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: RequestBody;
  signal?: AbortSignal | undefined;
  /** Time limit until response headers arrive; `null` = none (large transfers). */
  timeoutMs?: number | null;
  ctx: ErrorContext;
}

export interface HttpOptions {
  fetch: FetchLike;
  authorization: string | undefined;
  userAgent: string | undefined;
  timeoutMs: number;
}

/** Information extracted from an error response (never the body itself). */
export interface ErrorInfo {
  ocsStatus?: number | undefined;
  message?: string | undefined;
  exception?: string | undefined;
  retryAfter?: string | undefined;
}

const UA_REFUSED = /not allowed to access end-to-end encrypted content/i;
const TLS_RE =
  /CERT|SSL|TLS|certificate|self[- ]signed|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HANDSHAKE|ERR_TLS|DEPTH_ZERO|SEC_ERROR|NET::ERR_CERT/i;
const UNREACHABLE_RE =
  /ENOTFOUND|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ECONNRESET|EAI_AGAIN|ETIMEDOUT|EPIPE|UND_ERR_SOCKET|UND_ERR_CONNECT|ERR_NAME_NOT_RESOLVED|ERR_CONNECTION/i;

export function basicAuth(loginName: string, appPassword: string): string {
  return `Basic ${toBase64(utf8(`${loginName}:${appPassword}`))}`;
}

/** `k=v&k2=v2` with RFC 3986 percent-encoding of values (keys are trusted constants such as `shareType[]`). */
export function encodeParams(params: ReadonlyArray<readonly [string, string]>): string {
  return params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
}

/** Removes control characters and truncates a server message for `detail`. */
export function sanitizeMessage(s: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

function errorChain(e: unknown): { texts: string[]; name: string | undefined } {
  const texts: string[] = [];
  let name: string | undefined;
  let cur: unknown = e;
  for (let depth = 0; depth < 6 && cur !== undefined && cur !== null; depth++) {
    if (typeof cur === 'object') {
      const o = cur as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown };
      if (name === undefined && typeof o.name === 'string') name = o.name;
      if (typeof o.code === 'string') texts.push(o.code);
      if (typeof o.message === 'string') texts.push(o.message);
      cur = o.cause;
    } else {
      if (typeof cur === 'string') texts.push(cur);
      break;
    }
  }
  return { texts, name };
}

/** Maps an exception thrown by `fetch` (or by a body read) to a typed error. */
export function networkError(
  e: unknown,
  ctx: ErrorContext,
  reason: 'error' | 'timeout' | 'cancelled',
): CipherfoldError {
  if (isCipherfoldError(e)) return e;
  if (reason === 'cancelled') {
    return fail(
      'cancelled',
      `${ctx.what} was cancelled. Nothing more was sent. Start it again if you want.`,
      {
        cause: e,
      },
    );
  }
  if (reason === 'timeout') {
    return fail(
      'network',
      `${ctx.what} failed: the server did not answer in time. It may be overloaded or unreachable. Check your connection and try again.`,
      { detail: 'timeout', cause: e },
    );
  }
  const { texts, name } = errorChain(e);
  const joined = texts.join(' | ');
  const codes = texts.filter((t) => /^[A-Z][A-Z0-9_]{2,}$/.test(t));
  const detail = [name, ...codes].filter((x) => x !== undefined && x !== '').join(' ') || undefined;
  if (TLS_RE.test(joined)) {
    return fail(
      'network',
      `${ctx.what} failed: the secure (TLS) connection to the server could not be established. Its certificate may be expired, self-signed or for another name. Check the server address and certificate.`,
      { detail, cause: e },
    );
  }
  if (UNREACHABLE_RE.test(joined)) {
    return fail(
      'network',
      `${ctx.what} failed: the server could not be reached. The address may be wrong or the server or your connection may be down. Check the address and your connection, then try again.`,
      { detail, cause: e },
    );
  }
  return fail(
    'network',
    `${ctx.what} failed: the server could not be reached. The connection may be down, or a browser or proxy setting blocked the request. Check your connection and try again.`,
    { detail, cause: e },
  );
}

/** Maps an HTTP error status (plus non-secret info from the body) to a typed error. */
export function statusError(
  status: number,
  info: ErrorInfo,
  ctx: ErrorContext,
  method: string,
): CipherfoldError {
  const parts = [`${method} HTTP ${status}`];
  if (info.ocsStatus !== undefined) parts.push(`OCS ${info.ocsStatus}`);
  if (info.exception !== undefined) parts.push(sanitizeMessage(info.exception));
  if (info.message !== undefined && info.message !== '') parts.push(`"${sanitizeMessage(info.message)}"`);
  if (info.retryAfter !== undefined) parts.push(`Retry-After ${sanitizeMessage(info.retryAfter)}`);
  const w = ctx.what;
  const mk = (kind: CipherfoldError['kind'], text: string, extra?: string): CipherfoldError =>
    fail(kind, `${w} failed: ${text}`, {
      detail: [...parts, ...(extra === undefined ? [] : [extra])].join('; '),
    });

  const msg = info.message ?? '';
  if (status === 401) {
    return mk(
      'auth',
      'Nextcloud did not accept the login (HTTP 401). The app password may have been revoked. Sign in again.',
    );
  }
  if (status === 403 && UA_REFUSED.test(msg)) {
    return mk(
      'e2ee-unavailable',
      'Nextcloud refused end-to-end encrypted access for this client (HTTP 403). The E2EE app may be disabled for your account or configured to refuse this client. Ask the server admin.',
    );
  }
  if (ctx.unlock && (status === 403 || status === 404)) {
    return mk(
      'conflict',
      'the folder is not locked with this token any more (HTTP ' +
        status +
        '). The lock may have expired, been released already, or been taken over. Reload the folder and try again.',
      'unlock: not locked by this token',
    );
  }
  if (status === 403) {
    return mk(
      'permission',
      'Nextcloud refused the request (HTTP 403). You may lack permission for this item, or it may need a lock first. Check the share permissions or ask the owner.',
    );
  }
  if (status === 404) {
    return mk(
      'not-found',
      'Nextcloud could not find the item (HTTP 404). It may have been deleted, moved, or never created. Reload and try again.',
    );
  }
  if (status === 409 || status === 412) {
    return mk(
      'conflict',
      `Nextcloud reported a conflict (HTTP ${status}). Something was changed at the same time, or already exists. Reload and try again.`,
    );
  }
  if (status === 423) {
    return mk(
      'locked',
      'the folder is locked by another device or user (HTTP 423). Someone else is changing it right now. Wait a moment and try again.',
    );
  }
  if (status === 429) {
    const wait =
      info.retryAfter !== undefined && /^\d+$/.test(info.retryAfter.trim())
        ? `${info.retryAfter.trim()} seconds`
        : 'a few minutes';
    return mk(
      'server',
      `Nextcloud is limiting requests (HTTP 429). Too many requests or failed attempts were made. Wait ${wait} before trying again; do not retry in a loop.`,
    );
  }
  if (status === 500 && ctx.lock) {
    return mk(
      'conflict',
      'the server answered with an internal error (HTTP 500), which Nextcloud 31 uses for a lock-counter conflict. Someone may have changed the folder meanwhile. Reload the folder and try again.',
      'HTTP 500 on lock: treated as counter conflict (NC 31 / E2EE 1.17.3 behaviour)',
    );
  }
  if (status === 507) {
    return mk(
      'server',
      'Nextcloud has no storage space left for this (HTTP 507). Your quota may be used up. Free some space or ask the admin.',
    );
  }
  return mk(
    'server',
    `Nextcloud answered with an unexpected status (HTTP ${status}). The server may be misconfigured, overloaded or updating. Try again later; if it persists, ask the server admin.`,
  );
}

/** Reads at most `limit` characters' worth of bytes of a body as text; cancels the rest. */
export async function readTextLimited(
  res: Response,
  limit: number,
): Promise<{ text: string; truncated: boolean }> {
  if (res.body === null) return { text: '', truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    chunks.push(r.value);
    total += r.value.length;
    if (total > limit) {
      truncated = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  const buf = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    buf.set(c, o);
    o += c.length;
  }
  return { text: new TextDecoder('utf-8').decode(buf), truncated };
}

/** Extracts OCS status code and message, or a Sabre exception/message, from an error body. */
export function parseErrorBody(text: string, contentType: string | null): ErrorInfo {
  const t = text.trimStart();
  if (t.startsWith('{')) {
    try {
      const j: unknown = JSON.parse(t);
      const ocs = (j as { ocs?: { meta?: { statuscode?: unknown; message?: unknown }; data?: unknown } }).ocs;
      if (ocs !== undefined && typeof ocs === 'object' && ocs !== null) {
        const meta = ocs.meta;
        const data = ocs.data as { message?: unknown } | null | undefined;
        const dataMsg =
          data !== null && typeof data === 'object' && typeof data.message === 'string'
            ? data.message
            : undefined;
        const metaMsg = meta !== undefined && typeof meta.message === 'string' ? meta.message : undefined;
        return {
          ocsStatus: meta !== undefined && typeof meta.statuscode === 'number' ? meta.statuscode : undefined,
          message: dataMsg ?? metaMsg,
        };
      }
    } catch {
      /* not JSON */
    }
    return {};
  }
  if (t.startsWith('<') || (contentType !== null && /xml/i.test(contentType))) {
    try {
      const root = parseXml(t);
      const m = firstChild(root, NS_SABRE, 'message');
      const ex = firstChild(root, NS_SABRE, 'exception');
      return {
        message: m === undefined ? undefined : textContent(m),
        exception: ex === undefined ? undefined : textContent(ex),
      };
    } catch {
      return {};
    }
  }
  return {};
}

export class Http {
  constructor(private readonly opts: HttpOptions) {}

  /** Performs the request; throws `network`/`cancelled` on transport failures; does not check the status. */
  async send(req: HttpRequest): Promise<Response> {
    const headers: Record<string, string> = { 'X-E2EE-SUPPORTED': 'true', ...(req.headers ?? {}) };
    if (this.opts.authorization !== undefined) headers['Authorization'] = this.opts.authorization;
    if (this.opts.userAgent !== undefined) headers['User-Agent'] = this.opts.userAgent;

    const outer = req.signal;
    if (outer?.aborted) throw networkError(outer.reason, req.ctx, 'cancelled');
    const ctl = new AbortController();
    const onAbort = (): void => ctl.abort(outer?.reason);
    outer?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const limit = req.timeoutMs === undefined ? this.opts.timeoutMs : req.timeoutMs;
    const timer =
      limit === null || limit <= 0
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            ctl.abort();
          }, limit);

    const init: FetchInit = {
      method: req.method,
      headers,
      signal: ctl.signal,
      credentials: 'omit',
      redirect: 'follow',
    };
    const b = req.body;
    if (b !== undefined) {
      if (typeof b === 'string') init.body = b;
      else if (b instanceof Uint8Array) {
        init.body = (b.buffer instanceof ArrayBuffer ? b : new Uint8Array(b)) as Uint8Array<ArrayBuffer>;
      } else {
        init.body = b;
        init.duplex = 'half';
      }
    }
    try {
      return await this.opts.fetch(req.url, init);
    } catch (e) {
      if (timedOut) throw networkError(e, req.ctx, 'timeout');
      if (outer?.aborted) throw networkError(e, req.ctx, 'cancelled');
      throw networkError(e, req.ctx, 'error');
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /** Throws the mapped error for a non-success response (reads a bounded part of its body). */
  async fail(res: Response, req: HttpRequest): Promise<never> {
    let info: ErrorInfo = {};
    try {
      const { text } = await readTextLimited(res, 64 * 1024);
      info = parseErrorBody(text, res.headers.get('content-type'));
    } catch {
      /* body unreadable: status alone decides */
    }
    const ra = res.headers.get('retry-after');
    if (ra !== null) info.retryAfter = ra;
    throw statusError(res.status, info, req.ctx, req.method);
  }

  /** `send` + status check. */
  async request(
    req: HttpRequest,
    ok: (status: number) => boolean = (s) => s >= 200 && s < 300,
  ): Promise<Response> {
    const res = await this.send(req);
    if (!ok(res.status)) await this.fail(res, req);
    return res;
  }
}
