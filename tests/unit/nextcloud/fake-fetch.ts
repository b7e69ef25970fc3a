/** A recording fake `fetch` for the Nextcloud client tests. */
import type { FetchInit, FetchLike } from '../../../lib/nextcloud/types';

export interface Recorded {
  url: string;
  method: string;
  headers: Record<string, string>;
  /** Body as text (UTF-8), or undefined. */
  body: string | undefined;
  bodyBytes: Uint8Array | undefined;
  duplex: string | undefined;
  bodyWasStream: boolean;
  signal: AbortSignal | undefined;
  credentials: string | undefined;
}

export type Canned = Response | ((req: Recorded) => Response | Promise<Response>);

export function ocsJson(data: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const ok = status >= 200 && status < 300;
  return new Response(
    JSON.stringify({
      ocs: { meta: { status: ok ? 'ok' : 'failure', statuscode: status, message: ok ? 'OK' : '' }, data },
    }),
    { status, headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers } },
  );
}

export function ocsError(
  status: number,
  message: string,
  shape: 'meta' | 'data' = 'meta',
  ocsStatus = status,
): Response {
  const body =
    shape === 'meta'
      ? { ocs: { meta: { status: 'failure', statuscode: ocsStatus, message }, data: [] } }
      : { ocs: { meta: { status: 'failure', statuscode: ocsStatus, message: '' }, data: { message } } };
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

async function readBody(b: unknown): Promise<{ bytes: Uint8Array | undefined; stream: boolean }> {
  if (b === undefined || b === null) return { bytes: undefined, stream: false };
  if (typeof b === 'string') return { bytes: new TextEncoder().encode(b), stream: false };
  if (b instanceof Uint8Array) return { bytes: new Uint8Array(b), stream: false };
  if (b instanceof ReadableStream) {
    const r = (b as ReadableStream<Uint8Array>).getReader();
    const parts: Uint8Array[] = [];
    for (;;) {
      const x = await r.read();
      if (x.done) break;
      parts.push(x.value);
    }
    const n = parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return { bytes: out, stream: true };
  }
  throw new Error('fake fetch: unsupported body type');
}

export class FakeFetch {
  readonly requests: Recorded[] = [];
  private readonly queue: Canned[] = [];
  fallback: Canned | undefined;

  /** Queue responses, consumed in order. */
  reply(...responses: Canned[]): this {
    this.queue.push(...responses);
    return this;
  }

  get last(): Recorded {
    const r = this.requests[this.requests.length - 1];
    if (r === undefined) throw new Error('no request recorded');
    return r;
  }

  readonly fetch: FetchLike = async (input: string, init: FetchInit): Promise<Response> => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => {
      headers[k] = v;
    });
    if (init.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    const { bytes, stream } = await readBody(init.body);
    const rec: Recorded = {
      url: input,
      method: init.method ?? 'GET',
      headers,
      body: bytes === undefined ? undefined : new TextDecoder().decode(bytes),
      bodyBytes: bytes,
      duplex: init.duplex,
      bodyWasStream: stream,
      signal: init.signal ?? undefined,
      credentials: init.credentials,
    };
    this.requests.push(rec);
    const next = this.queue.shift() ?? this.fallback;
    if (next === undefined) throw new Error(`fake fetch: no canned response for ${rec.method} ${rec.url}`);
    return typeof next === 'function' ? await next(rec) : next;
  };
}

export function form(body: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(body ?? '')) out[k] = v;
  return out;
}
