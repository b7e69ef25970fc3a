/**
 * Child process for tests/big: the stand-in (tests/server) behind a small disk-backed blob proxy.
 *
 * Why the proxy: the stand-in keeps whole blobs as Buffers — chunk PUTs are held in a Map in RAM even with
 * `dataDir`, the final MOVE concatenates them into one Buffer, and GET reads the blob with
 * `fs.readFileSync`, which refuses files > 2 GiB (ERR_FS_FILE_TOO_LARGE). A 3 GiB blob therefore cannot
 * go through it. The proxy streams chunk bodies to files in `<dataDir>/big-chunks/` and forwards the
 * chunk PUTs with an empty body, so the stand-in still does every check (auth, lock token, upload
 * session, final MOVE under the lock) and records a 0-byte file. A later GET of that path is forwarded
 * (so auth and permissions are checked) and, on 200, answered with the chunk files in order and the
 * real Content-Length. Not handled (not needed here): Range GETs, DELETE/MOVE of such a file, PROPFIND
 * sizes (they show 0).
 *
 *   node --import tsx tests/big/server.ts <dataDir>   → prints the proxy URL on stdout
 */
import { createReadStream, createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs';
import {
  createServer,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { startStandIn } from '../server/index';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: server.ts <dataDir>');
const chunkDir = join(dataDir, 'big-chunks');
mkdirSync(chunkDir, { recursive: true });
const standIn = await startStandIn({ dataDir });
const upstream = new URL(standIn.url);

const CHUNK_PUT = /^\/remote\.php\/dav\/uploads\/([^/]+)\/([^/]+)\/([^/]+)$/;
/** decoded DAV path of a finished chunked upload → its chunk files in order, and the total size */
const blobs = new Map<string, { files: string[]; size: number }>();
/** `${uid}/${upload}` → chunk name → file */
const pending = new Map<string, Map<string, string>>();

const davPath = (p: string): string => decodeURIComponent(p).replace(/\/+$/, '');

function forward(
  req: IncomingMessage,
  body: Buffer | IncomingMessage,
  headers: IncomingHttpHeaders = req.headers,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const up = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      resolve,
    );
    up.on('error', reject);
    if (Buffer.isBuffer(body)) up.end(body);
    else body.pipe(up);
  });
}

async function relay(up: IncomingMessage, res: ServerResponse): Promise<void> {
  res.writeHead(up.statusCode ?? 502, up.headers);
  await pipeline(up, res);
}

const server = createServer((req, res) => {
  void (async () => {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = CHUNK_PUT.exec(url.pathname);
    if (req.method === 'PUT' && m && m[3] !== '.file') {
      const key = `${m[1]}/${m[2]}`;
      const file = join(chunkDir, `${encodeURIComponent(key)}-${encodeURIComponent(m[3]!)}`);
      await pipeline(req, createWriteStream(file));
      const headers = { ...req.headers, 'content-length': '0' };
      delete headers['transfer-encoding'];
      const up = await forward(req, Buffer.alloc(0), headers);
      if ((up.statusCode ?? 500) < 300) {
        let chunks = pending.get(key);
        if (!chunks) pending.set(key, (chunks = new Map()));
        chunks.set(m[3]!, file);
      } else rmSync(file, { force: true });
      return relay(up, res);
    }
    if (req.method === 'MOVE' && m && m[3] === '.file') {
      const up = await forward(req, req);
      const key = `${m[1]}/${m[2]}`;
      const dest = req.headers['destination'];
      const chunks = pending.get(key);
      if ((up.statusCode ?? 500) < 300 && chunks && typeof dest === 'string') {
        const names = [...chunks.keys()].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
        const files = names.map((n) => chunks.get(n)!);
        blobs.set(davPath(new URL(dest).pathname), {
          files,
          size: files.reduce((s, f) => s + statSync(f).size, 0),
        });
        pending.delete(key);
      }
      return relay(up, res);
    }
    const blob = req.method === 'GET' && !req.headers.range ? blobs.get(davPath(url.pathname)) : undefined;
    if (blob) {
      const up = await forward(req, req);
      if (up.statusCode !== 200) return relay(up, res);
      up.resume();
      res.writeHead(200, { ...up.headers, 'content-length': String(blob.size) });
      for (const f of blob.files) await pipeline(createReadStream(f), res, { end: false });
      res.end();
      return;
    }
    return relay(await forward(req, req), res);
  })().catch((e: unknown) => {
    if (!res.headersSent) res.writeHead(502);
    res.end(String(e));
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
const stop = (): void => {
  server.close();
  void standIn.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
