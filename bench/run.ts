/**
 * `npm run bench` entry: runs every `bench/*.bench.ts` module (see bench/harness.ts for the module
 * shape) and prints one table.
 *
 *   BENCH_FILTER=gcm            only modules/cases whose "<module>/<case>" contains "gcm"
 *   BENCH_FILTER=64MiB,source   comma = or; case-insensitive substring match
 *   BENCH_LIST=1                list the modules and exit
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpus, loadavg } from 'node:os';
import {
  createContext,
  formatRow,
  formatTable,
  parseFilter,
  type BenchModule,
  type BenchResult,
} from './harness';

function isBenchModule(m: unknown): m is BenchModule {
  const o = m as Partial<BenchModule> | null;
  return !!o && typeof o.name === 'string' && typeof o.run === 'function';
}

async function main(): Promise<number> {
  const dir = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort();
  const modules: { file: string; mod: BenchModule }[] = [];
  for (const file of files) {
    const mod: unknown = await import(pathToFileURL(join(dir, file)).href);
    if (!isBenchModule(mod)) {
      console.error(`bench/${file}: does not export \`name\` and \`run\`; skipped`);
      continue;
    }
    modules.push({ file, mod });
  }
  if (process.env.BENCH_LIST) {
    for (const { file, mod } of modules) console.log(`${mod.name}\t${file}\t${mod.description ?? ''}`);
    return 0;
  }
  const filterRaw = process.env.BENCH_FILTER;
  const matches = parseFilter(filterRaw);
  const cpu = cpus();
  console.log(
    `node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? '?'}, filter: ${filterRaw ?? '(none)'}; ` +
      `load average ${loadavg()[0]!.toFixed(1)}; MB = 10^6 bytes; "MB per CPU-s" = size / process CPU time (all threads)`,
  );
  const results: BenchResult[] = [];
  let failed = false;
  for (const { mod } of modules) {
    console.log(`\n# ${mod.name}${mod.description ? ` — ${mod.description}` : ''}`);
    try {
      await mod.run(createContext(mod.name, matches, results, (m) => console.log(m)));
    } catch (e) {
      failed = true;
      console.error(`bench ${mod.name} aborted:`, e);
    }
  }
  console.log(`\nload average at the end: ${loadavg()[0]!.toFixed(1)}`);
  console.log(formatTable(results.map(formatRow)));
  return failed ? 1 : 0;
}

process.exitCode = await main();
