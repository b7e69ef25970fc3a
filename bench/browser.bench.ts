/**
 * The file-payload crypto in a real browser: headless Chromium (/usr/bin/chromium, playwright-core)
 * loads bench/browser/page.ts (lib/crypto/gcm-stream + lib/protocol/payload, bundled with esbuild at run
 * time) from a loopback server and measures, in the page:
 *
 *   - streamed encrypt/decrypt (GcmEncryptStream/GcmDecryptStream, 64 KiB source chunks generated in the
 *     page, counting sink) vs one-shot WebCrypto AES-GCM, BROWSER_MIB (default 256) MiB, interleaved
 *     rounds (BROWSER_ROUNDS, default 3); a "source only" row gives the cost of the source itself;
 *   - a BROWSER_DOWNLOAD_MIB (default 2048) MiB streamed download-and-decrypt: the server generates the
 *     encrypted blob on the fly (plaintext = AES-128-CTR keystream of a seed, encrypted by node:crypto
 *     AES-128-GCM; nothing stored), the page fetches it through decryptPayloadStream into a counting sink;
 *   - whether Chromium's WebCrypto accepts 16-byte AES-GCM IVs (compared with node:crypto), and whether
 *     the sealed-piece encryptor (which depends on it) equals node:crypto for a 16-byte nonce.
 *
 * Memory: the renderer's RSS (and the sum over all Chromium processes: browser, network service, GPU…),
 * read from /proc/<pid>/status every 10 ms, pids from CDP SystemInfo.getProcessInfo; plus the kernel's
 * VmHWM peak after resetting it (`clear_refs` = 5) when allowed. Reported as the peak increase over the
 * value just before the case. The harness's own ΔRSS column is the Node process (server), not the browser.
 *
 * Timing: the table's MB/s is measured in Node around `page.evaluate` (adds ~1–5 ms per call); the log
 * lines and the summary use the time taken inside the page.
 */
import { createCipheriv, randomBytes as nodeRandomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import { CHROMIUM_FLAGS } from '../tests/e2e/chromium-flags';
import { formatSize, type BenchContext } from './harness';

export const name = 'browser';
export const description =
  'Chromium: streamed vs one-shot AES-GCM, 2 GiB streamed download memory, 16-byte IVs';

const MiB = 1024 * 1024;
const HERE = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The flags of ../shared/docs/toolchain.md §4 (no extension here). */
const CHROMIUM_ARGS = [...CHROMIUM_FLAGS];

const envInt = (k: string, d: number): number => {
  const v = Number(process.env[k]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : d;
};

// ---------- loopback server ----------

async function bundle(): Promise<string> {
  const r = await build({
    entryPoints: [join(HERE, 'browser/page.ts')],
    bundle: true,
    format: 'esm',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  });
  return r.outputFiles[0]!.text;
}

/** Writes GCM(key, nonce, CTR-keystream(seed)) ‖ tag of `size` plaintext bytes, honouring backpressure. */
function sendBlob(
  res: import('node:http').ServerResponse,
  size: number,
  key: Buffer,
  nonce: Buffer,
  seed: Buffer,
) {
  const prng = createCipheriv('aes-128-ctr', seed, Buffer.alloc(16));
  const gcm = createCipheriv('aes-128-gcm', key, nonce);
  const zeros = Buffer.alloc(MiB);
  let sent = 0;
  let closed = false;
  res.on('close', () => (closed = true));
  res.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(size + 16),
    'Cache-Control': 'no-store',
  });
  const pump = (): void => {
    while (sent < size && !closed) {
      const n = Math.min(MiB, size - sent);
      const ct = gcm.update(prng.update(n === MiB ? zeros : zeros.subarray(0, n)));
      sent += n;
      if (!res.write(ct)) {
        res.once('drain', pump);
        return;
      }
    }
    if (closed) return;
    gcm.final();
    res.end(gcm.getAuthTag());
  };
  pump();
}

async function startServer(js: string): Promise<{ url: string; server: Server }> {
  const html = readFileSync(join(HERE, 'browser/index.html'), 'utf8');
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (u.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
    } else if (u.pathname === '/page.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(js);
    } else if (u.pathname === '/blob') {
      const hex = (k: string) => Buffer.from(u.searchParams.get(k) ?? '', 'hex');
      sendBlob(res, Number(u.searchParams.get('size')), hex('key'), hex('nonce'), hex('seed'));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

// ---------- browser process memory ----------

interface ProcInfo {
  type: string;
  id: number;
}

function rssOf(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // process gone
  }
}

function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

interface MemPeak {
  renderer: number;
  hwm: number | undefined;
  total: number;
}

/** Samples the renderer's RSS and the sum over all Chromium processes while a case runs. */
class BrowserMemory {
  private timer: NodeJS.Timeout | undefined;
  private baseRenderer = 0;
  private baseTotal = 0;
  peakRenderer = 0;
  peakTotal = 0;
  hwmReset = false;

  constructor(
    private readonly renderer: number,
    private readonly all: number[],
  ) {}

  static async of(cdp: CDPSession): Promise<BrowserMemory> {
    const info = (await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: ProcInfo[] };
    const renderers = info.processInfo.filter((p) => p.type === 'renderer');
    // One page → one renderer; if several, the largest is ours (the others are tiny spare renderers).
    const renderer = renderers.sort((a, b) => rssOf(b.id) - rssOf(a.id))[0];
    if (!renderer) throw new Error('no renderer process reported by SystemInfo.getProcessInfo');
    return new BrowserMemory(
      renderer.id,
      info.processInfo.map((p) => p.id),
    );
  }

  private total(): number {
    return this.all.reduce((s, pid) => s + rssOf(pid), 0);
  }

  start(): void {
    this.baseRenderer = rssOf(this.renderer);
    this.baseTotal = this.total();
    this.peakRenderer = 0;
    this.peakTotal = 0;
    this.hwmReset = resetPeak(this.renderer);
    this.timer = setInterval(() => this.sample(), 10);
  }

  private sample(): void {
    this.peakRenderer = Math.max(this.peakRenderer, rssOf(this.renderer) - this.baseRenderer);
    this.peakTotal = Math.max(this.peakTotal, this.total() - this.baseTotal);
  }

  async during<T>(fn: () => Promise<T>): Promise<[T, MemPeak]> {
    this.start();
    try {
      const r = await fn();
      return [r, this.stop()];
    } catch (e) {
      this.stop();
      throw e;
    }
  }

  stop(): MemPeak {
    this.sample();
    clearInterval(this.timer);
    const hwm = this.hwmReset ? rssOf(this.renderer, 'VmHWM') - this.baseRenderer : undefined;
    return { renderer: this.peakRenderer, hwm, total: this.peakTotal };
  }
}

const mib = (n: number): string => `${(n / MiB).toFixed(0)}`;
function memNote(m: MemPeak): string {
  return (
    `renderer peak ΔRSS ${mib(m.renderer)} MiB` +
    (m.hwm === undefined ? '' : ` (VmHWM Δ ${mib(m.hwm)})`) +
    `, all Chromium processes ${mib(m.total)} MiB`
  );
}

// ---------- the cases ----------

type Api = {
  prepare(size: number): Promise<{ ms: number }>;
  release(): void;
  sourceOnly(): Promise<{ ms: number }>;
  encryptStream(): Promise<{ ms: number; tagOk: boolean }>;
  encryptOneShot(): Promise<{ ms: number; tagOk: boolean }>;
  decryptStream(): Promise<{ ms: number; bytes: number }>;
  decryptOneShot(): Promise<{ ms: number; bytes: number }>;
  download(url: string, key: string, nonce: string): Promise<{ ms: number; bytes: number; heap?: number }>;
  iv16(
    key: string,
    iv: string,
    plain: string,
    sealedSize: number,
  ): Promise<{ raw: string; rawBackOk: boolean; sealedTag: string; sealedEqualsCtr: boolean }>;
};
type Method = Exclude<keyof Api, 'prepare' | 'release' | 'download' | 'iv16'>;

function callPage<M extends keyof Api>(
  page: Page,
  method: M,
  ...args: Parameters<Api[M]>
): Promise<Awaited<ReturnType<Api[M]>>> {
  return page.evaluate(
    ([m, a]) =>
      (window as unknown as { cfBench: Record<string, (...x: unknown[]) => unknown> }).cfBench[m]!(...a),
    [method, args] as const,
  ) as Promise<Awaited<ReturnType<Api[M]>>>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function ivCheck(ctx: BenchContext, page: Page): Promise<void> {
  await ctx.measure(
    '16-byte AES-GCM IV',
    { bytes: 3 * MiB + 5, note: 'correctness check, ignore MB/s' },
    async () => {
      const key = nodeRandomBytes(16);
      const iv = nodeRandomBytes(16);
      const plain = nodeRandomBytes(100);
      const sealedSize = 3 * MiB + 5;
      const r = await callPage(
        page,
        'iv16',
        key.toString('hex'),
        iv.toString('hex'),
        plain.toString('hex'),
        sealedSize,
      );
      const c = createCipheriv('aes-128-gcm', key, iv);
      const want = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]).toString('hex');
      const big = Buffer.alloc(sealedSize);
      for (let o = 0; o < sealedSize; o++) big[o] = (o * 31 + 7) & 0xff;
      const c2 = createCipheriv('aes-128-gcm', key, iv);
      c2.update(big);
      c2.final();
      const wantTag = c2.getAuthTag().toString('hex');
      const rawOk = r.raw === want;
      const note =
        `one-shot WebCrypto with 16-byte IV: ${r.raw.startsWith('ERROR') ? r.raw : rawOk ? 'accepted, = node:crypto' : 'DIFFERS from node:crypto'}` +
        `, decrypt back ${r.rawBackOk ? 'ok' : 'FAILED'}; sealed pieces (3 MiB + 5, 16-byte nonce) ` +
        `${r.sealedTag === wantTag ? 'tag = node:crypto' : 'tag DIFFERS'}, ${r.sealedEqualsCtr ? '= ctr+ghash output' : '≠ ctr+ghash'}`;
      ctx.log(`  ${note}`);
      if (!rawOk || !r.rawBackOk || r.sealedTag !== wantTag || !r.sealedEqualsCtr) throw new Error(note);
      return note;
    },
  );
}

export async function run(ctx: BenchContext): Promise<void> {
  const size = envInt('BROWSER_MIB', 256) * MiB;
  const rounds = envInt('BROWSER_ROUNDS', 3);
  const dlSize = envInt('BROWSER_DOWNLOAD_MIB', 2048) * MiB;
  const dlRuns = envInt('BROWSER_DOWNLOAD_RUNS', 2);
  const S = formatSize(size);
  const streamCases: Array<{ name: string; method: Method; note: string }> = [
    { name: `source only ${S}`, method: 'sourceOnly', note: 'page-generated 64 KiB chunks, no crypto' },
    { name: `encrypt stream ${S}`, method: 'encryptStream', note: 'GcmEncryptStream, counting sink' },
    { name: `encrypt one-shot ${S}`, method: 'encryptOneShot', note: 'WebCrypto, input in memory' },
    {
      name: `decrypt stream ${S}`,
      method: 'decryptStream',
      note: 'GcmDecryptStream, 64 KiB pieces of ct in memory',
    },
    { name: `decrypt one-shot ${S}`, method: 'decryptOneShot', note: 'WebCrypto, input in memory' },
  ];
  const wanted = [
    ...streamCases.map((c) => c.name),
    `download+decrypt stream ${formatSize(dlSize)}`,
    '16-byte AES-GCM IV',
  ];
  if (!wanted.some((c) => ctx.include(c))) return;
  if (!existsSync(CHROMIUM)) {
    ctx.log(`  skipped: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`);
    return;
  }

  const { url, server } = await startServer(await bundle());
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'ready');
    const ua = await page.evaluate(() => navigator.userAgent);
    ctx.log(`  ${ua.replace(/^.*(HeadlessChrome\/\S+|Chrome\/\S+).*$/, '$1')} at ${url}`);
    const cdp = await browser.newBrowserCDPSession();
    const mem = await BrowserMemory.of(cdp);

    if (ctx.include('16-byte AES-GCM IV')) await ivCheck(ctx, page);

    // Throughput: interleaved rounds, in-page times collected per case.
    const inPage = new Map<string, number[]>();
    if (streamCases.some((c) => ctx.include(c.name))) {
      const p = await callPage(page, 'prepare', size);
      ctx.log(`  prepared ${S} plaintext + one-shot ciphertext in the page (${p.ms.toFixed(0)} ms, untimed)`);
      for (let r = 0; r < rounds; r++) {
        for (const c of streamCases) {
          await ctx.measure(c.name, { bytes: size, note: c.note }, async () => {
            const [res, m] = await mem.during(
              () => callPage(page, c.method) as Promise<{ ms: number; tagOk?: boolean }>,
            );
            if (res.tagOk === false) throw new Error('tag differs from one-shot WebCrypto');
            inPage.set(c.name, [...(inPage.get(c.name) ?? []), res.ms]);
            ctx.log(
              `    round ${r + 1} ${c.name}: in page ${(size / 1e6 / (res.ms / 1000)).toFixed(0)} MB/s; ${memNote(m)}`,
            );
            return memNote(m);
          });
        }
      }
      await callPage(page, 'release');
      const mbps = (n: string): number => {
        const t = inPage.get(n);
        return t && t.length ? size / 1e6 / (median(t) / 1000) : NaN;
      };
      ctx.log(
        `  in-page median MB/s: ` +
          streamCases.map((c) => `${c.method} ${mbps(c.name).toFixed(0)}`).join(', ') +
          `; stream/one-shot: encrypt ${(mbps(streamCases[1]!.name) / mbps(streamCases[2]!.name)).toFixed(2)}×, ` +
          `decrypt ${(mbps(streamCases[3]!.name) / mbps(streamCases[4]!.name)).toFixed(2)}×`,
      );
    }

    const dlName = `download+decrypt stream ${formatSize(dlSize)}`;
    if (ctx.include(dlName)) {
      // Let the renderer settle after the 256 MiB buffers were dropped.
      await page.evaluate(() => new Promise((r) => setTimeout(r, 500)));
      for (let r = 0; r < dlRuns; r++) {
        const key = nodeRandomBytes(16).toString('hex');
        const nonce = nodeRandomBytes(12).toString('hex');
        const seed = nodeRandomBytes(16).toString('hex');
        await ctx.measure(
          dlName,
          { bytes: dlSize, note: 'blob generated by the Node server (AES-CTR keystream → node:crypto GCM)' },
          async () => {
            const blobUrl = `${url}/blob?size=${dlSize}&key=${key}&nonce=${nonce}&seed=${seed}`;
            const [res, m] = await mem.during(() => callPage(page, 'download', blobUrl, key, nonce));
            if (res.bytes !== dlSize) throw new Error(`sink got ${res.bytes} bytes`);
            const heap = res.heap === undefined ? '' : `; JS heap at end ${mib(res.heap)} MiB`;
            ctx.log(
              `    run ${r + 1}: in page ${(dlSize / 1e6 / (res.ms / 1000)).toFixed(0)} MB/s (tag verified); ${memNote(m)}${heap}`,
            );
            return memNote(m) + heap;
          },
        );
      }
    }
  } finally {
    await browser?.close().catch(() => undefined);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}
