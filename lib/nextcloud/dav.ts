/**
 * WebDAV under `/remote.php/dav/files/<userId>/…`: PROPFIND, streamed GET/PUT, MKCOL, MOVE/COPY, DELETE
 * and chunked upload v2. Every request carries `X-E2EE-SUPPORTED: true`; every write carries `e2e-token`
 * when a token is given. Paths are plain (decoded) strings relative to the user's files root; each
 * segment is percent-encoded exactly once.
 */
import { fail, isCipherfoldError } from '../errors';
import { randomBytes, toHex } from '../crypto/bytes';
import { type ErrorContext, type Http, networkError, readTextLimited } from './http';
import { fileIdFromHeader } from './ids';
import { parseMultistatus } from './multistatus';
import type { DavEntry, FileId, LockToken, ProgressCallback, UserId } from './types';

export interface PropfindOptions {
  depth?: 0 | 1;
  /** Also request `nc:e2ee-metadata` and `nc:e2ee-metadata-signature` (default false: a flagged folder
   * without committed metadata makes such a PROPFIND fail with 500 on Nextcloud 31). */
  e2eeMetadata?: boolean;
  signal?: AbortSignal;
}

export interface DownloadOptions {
  /** Inclusive byte range; `end` omitted = to the end. */
  range?: { start: number; end?: number };
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export interface Download {
  body: ReadableStream<Uint8Array>;
  /** Bytes in this answer (Content-Length), if known. */
  size: number | undefined;
  /** Whole file size from `Content-Range`, if the answer is partial. */
  totalSize: number | undefined;
  /** True for a 206 answer; false if the server ignored the range and sent everything. */
  partial: boolean;
  etag: string | undefined;
  contentType: string | undefined;
}

export interface WriteOptions {
  /** E2EE lock token (header `e2e-token`). */
  token?: LockToken | undefined;
  signal?: AbortSignal;
}

export interface UploadOptions extends WriteOptions {
  contentType?: string;
  /** Total size for progress reports (defaults to the byte length of a Uint8Array body). */
  size?: number;
  onProgress?: ProgressCallback;
}

export interface ChunkedUploadOptions extends WriteOptions {
  /** Exact number of bytes the source yields (sent as `OC-Total-Length`). */
  size: number;
  /** Bytes per chunk (default 10 MiB; servers with S3 storage need ≥ 5 MiB except for the last chunk). */
  chunkSize?: number;
  onProgress?: ProgressCallback;
}

export interface UploadResult {
  fileId: FileId | undefined;
  etag: string | undefined;
}

export interface DeleteOptions extends WriteOptions {
  /** Send `X-NC-Skip-Trashbin: true`. */
  skipTrashbin?: boolean;
}

export interface MoveOptions extends WriteOptions {
  /** Replace an existing destination (`Overwrite: T`); default false (`F`). */
  overwrite?: boolean;
}

const PROPS_BASE = [
  'd:resourcetype',
  'd:displayname',
  'd:getcontentlength',
  'd:getlastmodified',
  'd:getetag',
  'd:getcontenttype',
  'oc:fileid',
  'oc:permissions',
  'nc:is-encrypted',
  'nc:e2ee-is-encrypted',
];
const PROPS_META = ['nc:e2ee-metadata', 'nc:e2ee-metadata-signature'];

export function propfindBody(withMetadata: boolean): string {
  const props = [...PROPS_BASE, ...(withMetadata ? PROPS_META : [])].map((p) => `<${p}/>`).join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">' +
    `<d:prop>${props}</d:prop></d:propfind>`
  );
}

/** Percent-encodes each segment of a plain path once. Rejects "." / ".." segments. Root → "/". */
export function encodeDavPath(path: string): string {
  const segs = path.split('/').filter((s) => s !== '');
  for (const s of segs) {
    if (s === '.' || s === '..' || s.includes('\u0000')) {
      throw fail(
        'format',
        'A file path contains a "." or ".." segment or a NUL character. This is not allowed. Use a plain path.',
      );
    }
  }
  return '/' + segs.map(encodeURIComponent).join('/');
}

function tokenHeader(o: WriteOptions | undefined): Record<string, string> {
  return o?.token === undefined ? {} : { 'e2e-token': o.token };
}

function stripQuotes(s: string | null): string | undefined {
  if (s === null) return undefined;
  const t = s.trim().replace(/^W\//, '');
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

function headerNumber(h: string | null): number | undefined {
  if (h === null || !/^\s*\d{1,16}\s*$/.test(h)) return undefined;
  return Number(h.trim());
}

/** Wraps a body stream: reports progress and maps read failures to `network`/`cancelled`. */
function observe(
  src: ReadableStream<Uint8Array>,
  o: {
    total: number | undefined;
    onProgress?: ProgressCallback | undefined;
    signal?: AbortSignal | undefined;
    ctx: ErrorContext;
  },
): ReadableStream<Uint8Array> {
  const reader = src.getReader();
  let done = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const r = await reader.read();
        if (r.done) {
          controller.close();
          return;
        }
        done += r.value.length;
        controller.enqueue(r.value);
        o.onProgress?.(done, o.total);
      } catch (e) {
        controller.error(networkError(e, o.ctx, o.signal?.aborted === true ? 'cancelled' : 'error'));
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** Splits bytes or a stream into chunks of exactly `size` bytes (the last may be shorter). */
async function* chunksOf(
  source: Uint8Array | ReadableStream<Uint8Array>,
  size: number,
): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    for (let o = 0; o < source.length; o += size) yield source.subarray(o, Math.min(source.length, o + size));
    return;
  }
  const reader = source.getReader();
  let buf = new Uint8Array(size);
  let fill = 0;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      let v = r.value;
      while (v.length > 0) {
        const take = Math.min(size - fill, v.length);
        buf.set(v.subarray(0, take), fill);
        fill += take;
        v = v.subarray(take);
        if (fill === size) {
          yield buf;
          buf = new Uint8Array(size);
          fill = 0;
        }
      }
    }
    if (fill > 0) yield buf.subarray(0, fill);
  } finally {
    reader.releaseLock();
  }
}

export class DavApi {
  constructor(
    private readonly http: Http,
    private readonly baseUrl: string,
    private readonly userId: () => Promise<UserId>,
  ) {}

  /** Absolute URL of a path in the user's files. */
  async url(path: string): Promise<string> {
    const uid = await this.userId();
    return `${this.baseUrl}/remote.php/dav/files/${encodeURIComponent(uid)}${encodeDavPath(path)}`;
  }

  /** PROPFIND depth 0 or 1. The first entry is normally the target itself. */
  async propfind(path: string, o: PropfindOptions = {}): Promise<DavEntry[]> {
    const ctx = { what: 'Listing the folder' };
    const uid = await this.userId();
    const req = {
      method: 'PROPFIND',
      url: await this.url(path),
      headers: { Depth: String(o.depth ?? 1), 'Content-Type': 'application/xml; charset=utf-8' },
      body: propfindBody(o.e2eeMetadata === true),
      signal: o.signal,
      ctx,
    };
    const res = await this.http.request(req, (s) => s === 207);
    let text: string;
    try {
      const r = await readTextLimited(res, 256 * 1024 * 1024);
      if (r.truncated)
        throw fail(
          'server',
          'Listing the folder failed: the answer is too large. The folder may hold too many entries. Ask the server admin.',
        );
      text = r.text;
    } catch (e) {
      throw networkError(e, ctx, o.signal?.aborted === true ? 'cancelled' : 'error');
    }
    const basePath = new URL(this.baseUrl).pathname.replace(/\/+$/, '');
    return parseMultistatus(text, { basePath, userId: uid });
  }

  /** GET as a stream (optionally a byte range). */
  async download(path: string, o: DownloadOptions = {}): Promise<Download> {
    const ctx = { what: 'Downloading the file' };
    const headers: Record<string, string> = {};
    if (o.range !== undefined) {
      const { start, end } = o.range;
      if (
        !Number.isSafeInteger(start) ||
        start < 0 ||
        (end !== undefined && (!Number.isSafeInteger(end) || end < start))
      ) {
        throw fail('format', 'A download range is invalid. This is a bug. Report it.');
      }
      headers['Range'] = `bytes=${start}-${end === undefined ? '' : end}`;
    }
    const res = await this.http.request({
      method: 'GET',
      url: await this.url(path),
      headers,
      signal: o.signal,
      ctx,
    });
    const size = headerNumber(res.headers.get('content-length'));
    const cr = res.headers.get('content-range');
    const crm = cr === null ? null : /\/\s*(\d{1,16})\s*$/.exec(cr);
    const body = res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    return {
      body: observe(body, { total: size, onProgress: o.onProgress, signal: o.signal, ctx }),
      size,
      totalSize: crm === null ? undefined : Number(crm[1]),
      partial: res.status === 206,
      etag: stripQuotes(res.headers.get('etag')),
      contentType: res.headers.get('content-type') ?? undefined,
    };
  }

  /** PUT bytes or a stream (streams are sent with `duplex: 'half'`). */
  async upload(
    path: string,
    body: Uint8Array | ReadableStream<Uint8Array>,
    o: UploadOptions = {},
  ): Promise<UploadResult> {
    const ctx = { what: 'Uploading the file' };
    const total = o.size ?? (body instanceof Uint8Array ? body.length : undefined);
    let sendBody: Uint8Array | ReadableStream<Uint8Array> = body;
    if (body instanceof Uint8Array) o.onProgress?.(0, total);
    else sendBody = observe(body, { total, onProgress: o.onProgress, signal: o.signal, ctx });
    const res = await this.http.request({
      method: 'PUT',
      url: await this.url(path),
      headers: { 'Content-Type': o.contentType ?? 'application/octet-stream', ...tokenHeader(o) },
      body: sendBody,
      signal: o.signal,
      timeoutMs: null,
      ctx,
    });
    if (body instanceof Uint8Array) o.onProgress?.(body.length, total);
    await res.body?.cancel().catch(() => undefined);
    return {
      fileId: fileIdFromHeader(res.headers.get('oc-fileid')),
      etag: stripQuotes(res.headers.get('etag')),
    };
  }

  /** MKCOL; returns the new folder's file id (from `OC-FileId`) when the server sends it. */
  async mkcol(path: string, o: WriteOptions = {}): Promise<FileId | undefined> {
    const res = await this.http.request({
      method: 'MKCOL',
      url: await this.url(path),
      headers: tokenHeader(o),
      signal: o.signal,
      ctx: { what: 'Creating the folder' },
    });
    await res.body?.cancel().catch(() => undefined);
    return fileIdFromHeader(res.headers.get('oc-fileid'));
  }

  async move(from: string, to: string, o: MoveOptions = {}): Promise<void> {
    await this.moveOrCopy('MOVE', from, to, o, 'Moving the item');
  }

  async copy(from: string, to: string, o: MoveOptions = {}): Promise<void> {
    await this.moveOrCopy('COPY', from, to, o, 'Copying the item');
  }

  private async moveOrCopy(
    method: 'MOVE' | 'COPY',
    from: string,
    to: string,
    o: MoveOptions,
    what: string,
  ): Promise<void> {
    const res = await this.http.request({
      method,
      url: await this.url(from),
      headers: {
        Destination: await this.url(to),
        Overwrite: o.overwrite === true ? 'T' : 'F',
        ...tokenHeader(o),
      },
      signal: o.signal,
      ctx: { what },
    });
    await res.body?.cancel().catch(() => undefined);
  }

  async delete(path: string, o: DeleteOptions = {}): Promise<void> {
    const res = await this.http.request({
      method: 'DELETE',
      url: await this.url(path),
      headers: { ...(o.skipTrashbin === true ? { 'X-NC-Skip-Trashbin': 'true' } : {}), ...tokenHeader(o) },
      signal: o.signal,
      ctx: { what: 'Deleting the item' },
    });
    await res.body?.cancel().catch(() => undefined);
  }

  /**
   * Chunked upload v2: MKCOL uploads/<user>/<id> (Destination), PUT …/00001… (Destination,
   * OC-Total-Length), MOVE …/.file (Destination). On failure the upload folder is removed (best effort).
   * Note (NC 31): the final MOVE into an encrypted folder is neither token-checked nor staged.
   */
  async uploadChunked(
    path: string,
    source: Uint8Array | ReadableStream<Uint8Array>,
    o: ChunkedUploadOptions,
  ): Promise<UploadResult> {
    const ctx = { what: 'Uploading the file' };
    const chunkSize = o.chunkSize ?? 10 * 1024 * 1024;
    if (!Number.isSafeInteger(o.size) || o.size < 0 || !Number.isSafeInteger(chunkSize) || chunkSize < 1) {
      throw fail('format', 'An upload size or chunk size is invalid. This is a bug. Report it.');
    }
    const uid = await this.userId();
    const dest = await this.url(path);
    const dir = `${this.baseUrl}/remote.php/dav/uploads/${encodeURIComponent(uid)}/cipherfold-${toHex(randomBytes(16))}`;
    const common = { Destination: dest, ...tokenHeader(o) };
    const total = String(o.size);
    const done = async (res: Response): Promise<void> => {
      await res.body?.cancel().catch(() => undefined);
    };
    await done(
      await this.http.request({ method: 'MKCOL', url: dir, headers: common, signal: o.signal, ctx }),
    );
    try {
      let n = 0;
      let sent = 0;
      o.onProgress?.(0, o.size);
      for await (const chunk of chunksOf(source, chunkSize)) {
        n++;
        sent += chunk.length;
        if (sent > o.size) throw sizeMismatch();
        const res = await this.http.request({
          method: 'PUT',
          url: `${dir}/${String(n).padStart(5, '0')}`,
          headers: { ...common, 'OC-Total-Length': total, 'Content-Type': 'application/octet-stream' },
          body: chunk,
          signal: o.signal,
          timeoutMs: null,
          ctx,
        });
        await done(res);
        o.onProgress?.(sent, o.size);
      }
      if (sent !== o.size) throw sizeMismatch();
      const res = await this.http.request({
        method: 'MOVE',
        url: `${dir}/.file`,
        headers: { ...common, 'OC-Total-Length': total },
        signal: o.signal,
        timeoutMs: null,
        ctx,
      });
      await done(res);
      return {
        fileId: fileIdFromHeader(res.headers.get('oc-fileid')),
        etag: stripQuotes(res.headers.get('etag')),
      };
    } catch (e) {
      await this.http
        .send({ method: 'DELETE', url: dir, headers: tokenHeader(o), ctx })
        .then((r) => r.body?.cancel())
        .catch(() => undefined);
      if (isCipherfoldError(e)) throw e;
      throw networkError(e, ctx, o.signal?.aborted === true ? 'cancelled' : 'error');
    }
  }
}

function sizeMismatch(): Error {
  return fail(
    'format',
    'The data to upload does not have the announced size. It may have changed while uploading. Try again.',
  );
}
