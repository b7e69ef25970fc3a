/**
 * Tiny benchmark harness shared by every `bench/*.bench.ts` module (Node only).
 *
 * A module exports `name` (short, unique), optionally `description`, and `run(ctx)`, which calls
 * `ctx.measure(...)` once per case. `bench/run.ts` discovers the modules, applies `BENCH_FILTER` and
 * prints one table. Example module:
 *
 *   export const name = 'sha';
 *   export async function run(ctx: BenchContext): Promise<void> {
 *     const data = new Uint8Array(1 << 26);
 *     await ctx.measure('sha256 64MiB', { bytes: data.length, runs: 3 }, () => sha256(data));
 *   }
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface BenchResult {
  bench: string;
  case: string;
  bytes: number;
  runs: number;
  ok: boolean;
  /** Milliseconds of each successful run. */
  times: number[];
  /** Process CPU time (user + system, all threads) of each successful run, in milliseconds. */
  cpuTimes: number[];
  /** Peak increase over the baseline taken just before the case, in bytes (over all runs). */
  peakRss: number;
  peakArrayBuffers: number;
  note: string;
}

export interface MeasureOptions {
  /** Payload size, for the MB/s column (MB = 10^6 bytes). */
  bytes: number;
  /** Timed repetitions in a row (default 1). Calling `measure` again with the same case adds runs. */
  runs?: number;
  /** Free text for the table (e.g. what is kept in memory outside the measurement). */
  note?: string;
}

export interface BenchContext {
  /** True if `case` of this module passes BENCH_FILTER; `measure` checks this itself. */
  include(caseName: string): boolean;
  /**
   * Runs `fn` `runs` times with memory sampling; a returned string is appended to the note. A thrown
   * error is recorded (ok = false) instead of aborting the whole benchmark.
   */
  measure(
    caseName: string,
    options: MeasureOptions,
    fn: () => Promise<string | void>,
  ): Promise<BenchResult | undefined>;
  log(message: string): void;
}

export interface BenchModule {
  name: string;
  description?: string;
  run(ctx: BenchContext): Promise<void>;
}

const MiB = 1024 * 1024;

let gcFn: (() => void) | undefined;

/** Full GC if possible (enables --expose-gc at run time, so `tsx bench/run.ts` needs no flags). */
export function collectGarbage(): void {
  if (!gcFn) {
    try {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    } catch {
      gcFn = () => undefined;
    }
  }
  gcFn();
}

/** Samples rss / arrayBuffers every `intervalMs` while running; reports peaks relative to start. */
export class MemorySampler {
  private readonly baseRss: number;
  private readonly baseAb: number;
  peakRss = 0;
  peakArrayBuffers = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 5) {
    const m = process.memoryUsage();
    this.baseRss = m.rss;
    this.baseAb = m.arrayBuffers;
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const m = process.memoryUsage();
    this.peakRss = Math.max(this.peakRss, m.rss - this.baseRss);
    this.peakArrayBuffers = Math.max(this.peakArrayBuffers, m.arrayBuffers - this.baseAb);
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

export function parseFilter(raw: string | undefined): (id: string) => boolean {
  const terms = (raw ?? '')
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t.length > 0);
  if (terms.length === 0) return () => true;
  return (id) => terms.some((t) => id.toLowerCase().includes(t));
}

export function createContext(
  bench: string,
  matches: (id: string) => boolean,
  results: BenchResult[],
  log: (message: string) => void,
): BenchContext {
  const include = (caseName: string): boolean => matches(`${bench}/${caseName}`);
  return {
    include,
    log,
    async measure(caseName, options, fn) {
      if (!include(caseName)) return undefined;
      const runs = options.runs ?? 1;
      // Measuring the same case again (e.g. interleaved rounds) adds runs to the same row.
      let result = results.find((r) => r.bench === bench && r.case === caseName);
      if (!result) {
        result = {
          bench,
          case: caseName,
          bytes: options.bytes,
          runs: 0,
          ok: true,
          times: [],
          cpuTimes: [],
          peakRss: 0,
          peakArrayBuffers: 0,
          note: options.note ?? '',
        };
        results.push(result);
      }
      if (!result.ok) return result;
      const firstRun = result.runs === 0;
      result.runs += runs;
      for (let i = 0; i < runs; i++) {
        collectGarbage();
        await new Promise((r) => setTimeout(r, 20));
        const sampler = new MemorySampler();
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        try {
          const extra = await fn();
          result.times.push(performance.now() - t0);
          const cpu = process.cpuUsage(cpu0);
          result.cpuTimes.push((cpu.user + cpu.system) / 1000);
          if (extra && i === 0 && firstRun) result.note = result.note ? `${result.note}; ${extra}` : extra;
        } catch (e) {
          result.ok = false;
          const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
          result.note = `${result.note ? result.note + '; ' : ''}FAILED after ${(performance.now() - t0).toFixed(0)} ms: ${msg}`;
        } finally {
          sampler.stop();
          result.peakRss = Math.max(result.peakRss, sampler.peakRss);
          result.peakArrayBuffers = Math.max(result.peakArrayBuffers, sampler.peakArrayBuffers);
        }
        if (!result.ok) break;
      }
      const last = result.times.length > 0 ? result.times[result.times.length - 1]! : NaN;
      log(
        `  ${caseName}: ${result.ok ? `${(result.bytes / 1e6 / (last / 1000)).toFixed(0)} MB/s` : result.note}` +
          ` (peak ΔRSS ${(result.peakRss / MiB).toFixed(0)} MiB)`,
      );
      return result;
    },
  };
}

export function formatSize(n: number): string {
  if (n >= 1024 * MiB && n % (1024 * MiB) === 0) return `${n / (1024 * MiB)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(n % MiB === 0 ? 0 : 1)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const TABLE_HEADER = [
  'bench',
  'case',
  'size',
  'runs',
  'best MB/s',
  'median MB/s',
  'MB per CPU-s',
  'peak ΔRSS MiB',
  'peak ΔArrayBuffers MiB',
  'note',
];

export function formatRow(r: BenchResult): string[] {
  const mbps = (ms: number): string => (r.bytes / 1e6 / (ms / 1000)).toFixed(0);
  const ok = r.ok && r.times.length > 0;
  return [
    r.bench,
    r.case,
    formatSize(r.bytes),
    String(r.times.length),
    ok ? mbps(Math.min(...r.times)) : '-',
    ok ? mbps(median(r.times)) : '-',
    ok ? mbps(median(r.cpuTimes)) : '-',
    (r.peakRss / MiB).toFixed(0),
    (r.peakArrayBuffers / MiB).toFixed(0),
    r.note,
  ];
}

/** Markdown-compatible table, columns padded. */
export function formatTable(rows: string[][]): string {
  const all = [TABLE_HEADER, ...rows];
  const widths = TABLE_HEADER.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  const sep = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(TABLE_HEADER), sep, ...rows.map(line)].join('\n');
}
