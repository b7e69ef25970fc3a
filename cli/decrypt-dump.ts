/**
 * `cipherfold decrypt-dump`: verifies a backup dump offline and writes the plaintext tree.
 *
 * Everything is verified before anything reaches OUTDIR: metadata and completeness first (no plaintext),
 * then every payload is decrypted into a private staging directory next to OUTDIR (same file system) and
 * its GCM tag checked; only when all of that succeeded are the root folders renamed into OUTDIR. On any
 * failure (or Ctrl-C) the staging directory is removed, so OUTDIR never holds partial plaintext.
 */
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { type Bytes } from '../lib/crypto/bytes';
import { parseMnemonic } from '../lib/crypto/mnemonic';
import { pemDecode } from '../lib/crypto/pem';
import { importRsaPrivateKey } from '../lib/crypto/rsa';
import { fail } from '../lib/errors';
import { DUMP_FILE_NAME, DUMP_PAYLOAD_DIR, parseDump, parseKnownCounters } from '../lib/backup/dump';
import {
  executePlan,
  planRestore,
  type DumpSource,
  type PlaintextSink,
  type RestoreSummary,
  type Unlock,
} from '../lib/backup/restore';

export interface DecryptDumpOptions {
  dir: string;
  out: string;
  wordsFile?: string;
  recoveryKeyFile?: string;
  knownCountersFile?: string;
  /** Warnings and progress; defaults to stderr. */
  log?: (line: string) => void;
}

async function readInput(file: string, what: string, flag: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw fail('format', `${what} could not be read. The path may be wrong or not readable. Check ${flag}.`, {
      cause: e,
    });
  }
}

async function unlockFrom(o: DecryptDumpOptions): Promise<Unlock> {
  if (o.wordsFile !== undefined && o.recoveryKeyFile !== undefined) {
    throw fail(
      'format',
      'Both recovery words and a recovery key were given. Only one is used to open the dump. Pass either --words-file or --recovery-key.',
    );
  }
  if (o.wordsFile !== undefined) {
    const text = await readInput(o.wordsFile, 'The recovery words file', '--words-file');
    return { kind: 'words', words: parseMnemonic(text) };
  }
  if (o.recoveryKeyFile !== undefined) {
    const text = await readInput(o.recoveryKeyFile, 'The recovery key file', '--recovery-key');
    const { der } = pemDecode(text, ['PRIVATE KEY', 'RSA PRIVATE KEY']);
    return { kind: 'recovery-key', key: await importRsaPrivateKey(der) };
  }
  throw fail(
    'format',
    'No recovery words or recovery key were given. Pass --words-file FILE or --recovery-key PEM.',
  );
}

/** Payload files of a dump directory. Only plain names inside `payload/<numeric id>/` are ever opened. */
export function fsDumpSource(dir: string): DumpSource {
  const base = join(dir, DUMP_PAYLOAD_DIR);
  return {
    async listPayloads(folderFileId) {
      const out = new Map<string, number>();
      if (!/^[0-9]+$/.test(folderFileId)) return out;
      const folder = join(base, folderFileId);
      let names: string[];
      try {
        names = await readdir(folder);
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return out;
        throw e;
      }
      for (const name of names) {
        if (name.endsWith('.partial')) continue;
        const st = await stat(join(folder, name));
        if (st.isFile()) out.set(name, st.size);
      }
      return out;
    },
    readPayload(folderFileId, name) {
      if (!/^[0-9]+$/.test(folderFileId) || name !== basename(name) || name === '.' || name === '..') {
        throw fail('format', 'A payload name in the dump is not a plain file name. The dump may be damaged.');
      }
      return createReadStream(join(base, folderFileId, name), { highWaterMark: 1 << 20 });
    },
  };
}

function checkSegment(seg: string): void {
  if (
    seg === '' ||
    seg === '.' ||
    seg === '..' ||
    seg.includes('/') ||
    seg.includes('\\') ||
    seg.includes('\0')
  ) {
    throw fail(
      'internal',
      'An output path segment was not sanitised. This is a bug in Cipherfold; please report it.',
    );
  }
}

/** Writes below `root` only; every segment must already be a safe single name. */
export function fsPlaintextSink(root: string): PlaintextSink {
  const target = (path: readonly string[]): string => {
    path.forEach(checkSegment);
    const p = resolve(root, ...path);
    if (!p.startsWith(root + sep)) {
      throw fail(
        'internal',
        'An output path left the output directory. This is a bug in Cipherfold; please report it.',
      );
    }
    return p;
  };
  return {
    async mkdir(path) {
      await mkdir(target(path), { mode: 0o700 });
    },
    async writeFile(path, chunks) {
      const fh = await open(target(path), 'wx', 0o600);
      try {
        for await (const chunk of chunks) await fh.write(chunk as Bytes);
      } finally {
        await fh.close();
      }
    },
  };
}

export async function runDecryptDump(o: DecryptDumpOptions): Promise<RestoreSummary> {
  const log = o.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const dir = resolve(o.dir);
  const out = resolve(o.out);

  const dumpText = await readFile(join(dir, DUMP_FILE_NAME), 'utf8').catch((e: unknown) => {
    throw fail(
      'format',
      `The dump directory has no readable ${DUMP_FILE_NAME}. It may be the wrong directory, or the backup did not finish. Check the path, or run the backup again.`,
      { cause: e },
    );
  });
  const dump = parseDump(dumpText);
  const knownCounters =
    o.knownCountersFile === undefined
      ? undefined
      : parseKnownCounters(
          await readInput(o.knownCountersFile, 'The known-counters file', '--known-counters'),
        );
  const unlock = await unlockFrom(o);
  const source = fsDumpSource(dir);

  // 1. Verify all metadata and completeness; nothing is decrypted to disk yet.
  const plan = await planRestore({
    dump,
    source,
    unlock,
    knownCounters,
    onWarning: (m) => log(`warning: ${m}`),
  });
  const rootNames = plan.directories.filter((d) => d.length === 1).map((d) => d[0]!);
  const outStat = await stat(out).catch(() => undefined);
  if (outStat && !outStat.isDirectory()) {
    throw fail('format', 'The output path exists and is not a directory. Choose another --out.');
  }
  for (const name of rootNames) {
    if (await exists(join(out, name))) {
      throw fail(
        'conflict',
        'The output directory already contains a folder with the name of a restored folder. Nothing was written. Choose an empty --out directory.',
      );
    }
  }

  // 2. Decrypt into a private staging directory next to OUTDIR, then move the roots into place.
  const parent = dirname(out);
  await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(join(parent, '.cipherfold-restore-'));
  const cleanup = (): void => {
    try {
      rmSync(staging, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    cleanup();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const moved: string[] = [];
  try {
    let last = 0;
    const summary = await executePlan(plan, {
      source,
      sink: fsPlaintextSink(staging),
      onProgress: (p) => {
        const now = Date.now();
        if (now - last > 1000 || p.files === p.totalFiles) {
          last = now;
          log(`decrypt-dump: files ${p.files}/${p.totalFiles}, bytes ${p.bytes}`);
        }
      },
    });
    await mkdir(out, { recursive: true });
    for (const name of rootNames) {
      const to = join(out, name);
      if (await exists(to)) {
        throw fail(
          'conflict',
          'The output directory gained a folder with the name of a restored folder meanwhile. Nothing was written. Choose an empty --out directory.',
        );
      }
      await rename(join(staging, name), to);
      moved.push(name);
    }
    return summary;
  } catch (e) {
    // Take back what was already moved: OUTDIR must not end up with part of the restore.
    for (const name of moved) {
      await rm(join(out, name), { recursive: true, force: true }).catch(() => undefined);
    }
    throw e;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    cleanup();
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
