/** The streaming zip writer, checked by independent readers (python3 zipfile, Info-ZIP unzip). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { crc32, createZipStream, type ZipEntry } from '../../../lib/engine/zip';
import { downloadZipTo } from '../../../lib/engine/zip-folder';
import { uploadTree } from '../../../lib/engine/ops';
import { makeWorld, rootName, source, streamOf, type World } from './helpers';

function has(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const PY = has('python3', ['-c', 'import zipfile']);
const UNZIP = has('unzip', ['-v']);
if (!PY) console.warn('zip tests: python3 with zipfile not available, archive checks skipped');
if (!UNZIP) console.warn('zip tests: unzip not available, Info-ZIP checks skipped');

const dir = mkdtempSync(join(tmpdir(), 'cf-zip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function toFile(stream: ReadableStream<Uint8Array>): Promise<string> {
  const file = join(dir, `t${++n}.zip`);
  writeFileSync(file, new Uint8Array(await new Response(stream).arrayBuffer()));
  return file;
}

/** name → sha256 hex (directories → "dir") as python reads them, after `zipfile -t`. */
function pyRead(file: string): Record<string, string> {
  execFileSync('python3', ['-m', 'zipfile', '-t', file], { stdio: 'pipe' });
  const out = execFileSync('python3', [
    '-c',
    'import zipfile,hashlib,json,sys\nz=zipfile.ZipFile(sys.argv[1])\nprint(json.dumps({i.filename:("dir" if i.is_dir() else hashlib.sha256(z.read(i)).hexdigest()) for i in z.infolist()}))',
    file,
  ]);
  return JSON.parse(out.toString()) as Record<string, string>;
}

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

describe('zip writer', () => {
  it('crc32 matches the standard check value', () => {
    expect(crc32(0, new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it.each(['auto', 'always'] as const)(
    'store + data descriptors + UTF-8 names (zip64: %s) read by python3 and unzip',
    async (zip64) => {
      const big = new Uint8Array(randomBytes(300_000));
      const entries: ZipEntry[] = [
        { name: 'a.txt', size: 5, open: async () => streamOf(new TextEncoder().encode('hello')) },
        { name: 'Ordner ü/', lastModified: new Date(2020, 1, 2, 3, 4, 6) },
        { name: 'Ordner ü/😀 big.bin', size: big.length, open: async () => streamOf(big, 7000) },
        { name: 'empty', size: 0, open: async () => streamOf(new Uint8Array(0)) },
        { name: 'unknown-size.bin', open: async () => streamOf(big.subarray(0, 1000)) },
      ];
      const file = await toFile(createZipStream(entries, { zip64 }));
      if (PY) {
        expect(pyRead(file)).toEqual({
          'a.txt': sha(new TextEncoder().encode('hello')),
          'Ordner ü/': 'dir',
          'Ordner ü/😀 big.bin': sha(big),
          empty: sha(new Uint8Array(0)),
          'unknown-size.bin': sha(big.subarray(0, 1000)),
        });
      }
      if (UNZIP) execFileSync('unzip', ['-tq', file], { stdio: 'pipe' });
    },
  );

  it('a size mismatch errors the stream', async () => {
    const s = createZipStream([{ name: 'x', size: 10, open: async () => streamOf(new Uint8Array(3)) }]);
    await expect(new Response(s).arrayBuffer()).rejects.toThrow(/expected size/);
  });
});

describe('zip of an encrypted folder', () => {
  let w: World;
  beforeAll(async () => {
    w = await makeWorld('main');
  });
  afterAll(() => w.close());

  it('zips a selection with sub-folder trees; only complete, verified archives are committed', async () => {
    const s = w.session('alice');
    const ref = await s.createRoot('/', rootName());
    await uploadTree(s, await s.open(ref.path), [
      { kind: 'file', source: source('one.txt', 'one') },
      { kind: 'file', source: source('skip.txt', 'skip') },
      { kind: 'folder', name: 'Sub', children: [{ kind: 'file', source: source('two.txt', 'two') }] },
    ]);
    const root = await s.open(ref.path);
    const ids = root.entries.filter((e) => e.name !== 'skip.txt').map((e) => e.id);
    const parts: Uint8Array[] = [];
    const calls: string[] = [];
    const r = await downloadZipTo(s, root, ids, {
      write: (c) => void parts.push(c.slice()),
      close: () => void calls.push('close'),
      abort: () => void calls.push('abort'),
    });
    expect(calls).toEqual(['close']);
    const file = join(dir, 'folder.zip');
    writeFileSync(file, Buffer.concat(parts));
    expect(r.bytes).toBe(Buffer.concat(parts).length);
    if (PY) {
      const enc = (t: string) => sha(new TextEncoder().encode(t));
      expect(pyRead(file)).toEqual({ 'one.txt': enc('one'), 'Sub/': 'dir', 'Sub/two.txt': enc('two') });
    }
  });
});
