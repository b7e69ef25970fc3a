/**
 * `cipherfold backup` + `cipherfold decrypt-dump` end to end against the stand-in: dump layout, restart,
 * byte-exact restore (subprocess), recovery key, and one exact error kind per tampering of the dump —
 * after every failure the output directory holds no plaintext and no staging directory is left behind.
 */
import {
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../cli/backup';
import { runDecryptDump } from '../../cli/decrypt-dump';
import { parseDump, serialiseDump, type Dump } from '../../lib/backup/dump';
import { generateMnemonic } from '../../lib/crypto/mnemonic';
import { pemEncode } from '../../lib/crypto/pem';
import { publicSpkiOf } from '../../lib/crypto/rsa';
import { isCipherfoldError } from '../../lib/errors';
import {
  putFile,
  serialiseRoot,
  verifyRootMetadata,
  type RootDraft,
  type Uuid32,
} from '../../lib/protocol/metadata';
import { buildFixture, exists, readTree, runCli, type Fixture } from './fixture';

let fx: Fixture;
let dumpDir: string;
const logs: string[] = [];

beforeAll(async () => {
  fx = await buildFixture();
  dumpDir = join(fx.tmp, 'dump');
  await runBackup({
    server: fx.srv.url,
    user: 'alice',
    appPasswordFile: fx.passwordFile,
    out: dumpDir,
    log: (l) => logs.push(l),
  });
}, 60_000);

afterAll(async () => {
  await fx?.close();
  if (fx) await rm(fx.tmp, { recursive: true, force: true });
});

async function loadDump(dir: string): Promise<Dump> {
  return parseDump(await readFile(join(dir, 'cipherfold-dump.json'), 'utf8'));
}

async function saveDump(dir: string, dump: Dump): Promise<void> {
  await writeFile(join(dir, 'cipherfold-dump.json'), serialiseDump(dump));
}

let copies = 0;
/** A private copy of the dump to tamper with, plus a fresh parent for OUTDIR. */
async function copyDump(): Promise<{ dir: string; parent: string; out: string }> {
  const n = copies++;
  const dir = join(fx.tmp, `copy-${n}`);
  await cp(dumpDir, dir, { recursive: true });
  const parent = join(fx.tmp, `restore-${n}`);
  await mkdir(parent);
  return { dir, parent, out: join(parent, 'out') };
}

async function payloadPath(
  dump: Dump,
  dir: string,
  clearRoot: string,
  match: (size: number) => boolean,
): Promise<string> {
  const root = dump.folders.find((f) => f.parentFileId === null && f.name === clearRoot)!;
  const folder = join(dir, 'payload', root.fileId);
  for (const name of await readdir(folder)) {
    const p = join(folder, name);
    if (match((await stat(p)).size)) return p;
  }
  throw new Error('no such payload');
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.compare(a, b) === 0;
}

async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isCipherfoldError(e)) return e.kind;
    throw e;
  }
  return 'ok';
}

/** OUTDIR must not exist or be empty, and its parent must hold nothing else (no staging left). */
async function expectNoPlaintext(parent: string, out: string): Promise<void> {
  if (await exists(out)) expect(await readdir(out)).toEqual([]);
  expect((await readdir(parent)).filter((n) => n !== 'out')).toEqual([]);
}

function decrypt(c: { dir: string; out: string }, extra: Partial<Parameters<typeof runDecryptDump>[0]> = {}) {
  return runDecryptDump({ dir: c.dir, out: c.out, wordsFile: fx.wordsFile, log: () => undefined, ...extra });
}

/** Re-signs the root "Secret" of a dump with alice's key after `edit` (a member can always do this). */
async function resignSecret(
  dump: Dump,
  edit: (d: RootDraft) => RootDraft | Promise<RootDraft>,
): Promise<Dump> {
  const f = dump.folders.find((x) => x.parentFileId === null && x.name === 'Secret')!;
  const v = await verifyRootMetadata({
    document: f.metadata,
    signature: f.signature ?? undefined,
    self: { userId: 'alice', key: fx.alice.key },
    serverPublicKeyPem: dump.serverPublicKey,
  });
  const draft = await edit({
    kind: 'v2-root',
    version: v.version,
    users: v.users,
    metadataKey: v.metadataKey,
    inner: v.inner,
    filedrop: v.filedrop,
  });
  const doc = await serialiseRoot(draft, { key: fx.alice.key, certificatePem: fx.alice.certificatePem });
  return {
    ...dump,
    folders: dump.folders.map((x) => (x === f ? { ...x, metadata: doc.text, signature: doc.signature } : x)),
  };
}

describe('backup', () => {
  it('writes the documented layout: every root and sub-folder, raw metadata and signatures, payloads', async () => {
    const dump = await loadDump(dumpDir);
    expect(dump.user).toBe('alice');
    expect(dump.server).toBe(fx.srv.url);
    expect(dump.serverPublicKey).toBe(fx.srv.control.getServerPublicKeyPem());
    expect(dump.certificate).toBe(fx.alice.certificatePem);
    const roots = dump.folders.filter((f) => f.parentFileId === null).map((f) => f.name);
    expect(roots.sort()).toEqual(['Inner', 'Secret']);
    // Secret + Docs + Deep + Empty folder, Inner
    expect(dump.folders).toHaveLength(5);
    for (const f of dump.folders) {
      const committed = fx.srv.control.committedMetadata(Number(f.fileId))!;
      expect(f.metadata).toBe(committed.text);
      expect(f.signature).toBe(committed.signature);
      if (f.parentFileId !== null) expect(f.name).toMatch(/^[0-9a-f]{32}$/);
    }
    const secret = dump.folders.find((f) => f.name === 'Secret')!;
    // 4 files + the filedrop blob
    expect(await readdir(join(dumpDir, 'payload', secret.fileId))).toHaveLength(5);
    const all = await readdir(dumpDir, { recursive: true });
    expect(all.some((n) => n.endsWith('.partial'))).toBe(false);
    expect(logs.some((l) => /folders \d+, files \d+/.test(l))).toBe(true);
    expect(logs.join('\n')).not.toContain(fx.appPassword);
    expect(await readFile(join(dumpDir, 'cipherfold-dump.json'), 'utf8')).not.toContain(fx.appPassword);
  });

  it('resumes an interrupted backup: only missing or partial payloads are fetched again', async () => {
    const dir = join(fx.tmp, 'resume');
    await cp(dumpDir, dir, { recursive: true });
    const dump = await loadDump(dir);
    const big = await payloadPath(dump, dir, 'Secret', (s) => s > 3 * 1024 * 1024);
    const small = await payloadPath(dump, dir, 'Secret', (s) => s === 16 + 15);
    const bigSize = (await stat(big)).size;
    const original = await readFile(big);
    // interrupted download: a .partial with half the bytes, no final file; one payload never fetched;
    // and no dump.json yet (it is written last)
    await rename(big, big + '.partial');
    await truncate(big + '.partial', 1000);
    await rm(small);
    await rm(join(dir, 'cipherfold-dump.json'));
    fx.srv.control.clearRequests();
    const summary = await runBackup({
      server: fx.srv.url,
      user: 'alice',
      appPasswordFile: fx.passwordFile,
      out: dir,
      log: () => undefined,
    });
    expect(summary.downloaded).toBe(bigSize + 31);
    expect(summary.skipped).toBe(summary.files - 2);
    const gets = fx.srv.control.requests.filter(
      (r) => r.method === 'GET' && r.path.includes('/remote.php/dav/'),
    );
    expect(gets).toHaveLength(2);
    expect((await readFile(big)).equals(original)).toBe(true);
    expect(await exists(big + '.partial')).toBe(false);
    expect(await exists(small)).toBe(true);
    expect((await loadDump(dir)).folders).toEqual(dump.folders);
  });

  it('--folder backs up one encrypted root only', async () => {
    const dir = join(fx.tmp, 'only-secret');
    await runBackup({
      server: fx.srv.url,
      user: 'alice',
      appPasswordFile: fx.passwordFile,
      out: dir,
      folder: '/Secret',
      log: () => undefined,
    });
    const dump = await loadDump(dir);
    expect(dump.folders.filter((f) => f.parentFileId === null).map((f) => f.name)).toEqual(['Secret']);
    expect(dump.folders).toHaveLength(4);
    await expect(
      runBackup({
        server: fx.srv.url,
        user: 'alice',
        appPasswordFile: fx.passwordFile,
        out: join(fx.tmp, 'plain'),
        folder: '/Plain',
        log: () => undefined,
      }),
    ).rejects.toMatchObject({ kind: 'unsupported' });
  });
});

describe('decrypt-dump', () => {
  it('restores every byte (real CLI): exit 0 and one line of JSON', async () => {
    const parent = await mkdtemp(join(fx.tmp, 'cli-restore-'));
    const out = join(parent, 'restored');
    const r = await runCli(['decrypt-dump', dumpDir, '--words-file', fx.wordsFile, '--out', out]);
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    const files = [...fx.expected.keys()].filter((k) => !k.endsWith('/'));
    const bytes = files.reduce((n, k) => n + fx.expected.get(k)!.length, 0);
    expect(JSON.parse(lines[0]!)).toEqual({ ok: true, roots: 2, folders: 5, files: files.length, bytes });
    const tree = await readTree(out);
    expect([...tree.keys()].sort()).toEqual([...fx.expected.keys()].sort());
    for (const [k, v] of fx.expected) expect(sameBytes(tree.get(k), v), k).toBe(true);
    expect(await readdir(parent)).toEqual(['restored']);
  });

  it('restores with an organisation recovery key that is a member (no words)', async () => {
    const c = await copyDump();
    await rm(c.dir, { recursive: true });
    await runBackup({
      server: fx.srv.url,
      user: 'alice',
      appPasswordFile: fx.passwordFile,
      out: c.dir,
      folder: '/Secret',
      log: () => undefined,
    });
    const pem = join(fx.tmp, 'recovery.pem');
    await writeFile(pem, fx.recoveryKeyPem, { mode: 0o600 });
    const summary = await runDecryptDump({
      dir: c.dir,
      out: c.out,
      recoveryKeyFile: pem,
      log: () => undefined,
    });
    expect(summary).toMatchObject({ ok: true, roots: 1, folders: 4 });
    const tree = await readTree(c.out);
    expect([...tree.keys()].sort()).toEqual([...fx.expectedSecret.keys()].sort());
    for (const [k, v] of fx.expectedSecret) expect(sameBytes(tree.get(k), v), k).toBe(true);
    // the whole dump also holds "Inner", where the recovery key is not a member: refused, nothing written
    const all = await copyDump();
    expect(
      await kindOf(
        runDecryptDump({ dir: all.dir, out: all.out, recoveryKeyFile: pem, log: () => undefined }),
      ),
    ).toBe('metadata');
    await expectNoPlaintext(all.parent, all.out);
  });

  it('keeps hostile clear names inside OUTDIR and de-duplicates collisions', async () => {
    const c = await copyDump();
    const dump = await resignSecret(await loadDump(c.dir), (d) => {
      let draft = d;
      const names = ['../../evil.txt', '..', 'a/b\u0000c', 'Docs'];
      let i = 0;
      for (const [id, entry] of d.inner.files) {
        draft = putFile(draft, id as Uuid32, { ...entry, filename: names[Math.min(i++, names.length - 1)]! });
      }
      return draft;
    });
    await saveDump(c.dir, dump);
    await decrypt(c);
    const tree = await readTree(c.out);
    const top = (await readdir(join(c.out, 'Secret'))).sort();
    expect(top).toEqual(['.._.._evil.txt', 'Docs', 'Docs (2)', '___', 'a_b_c', 'dropped.txt'].sort());
    expect([...tree.keys()].every((k) => !k.split('/').includes('..'))).toBe(true);
    expect((await readdir(c.parent)).sort()).toEqual(['out']);
    expect(await exists(join(fx.tmp, 'evil.txt'))).toBe(false);
  });
});

describe('decrypt-dump refuses a tampered dump with the exact kind and writes nothing', () => {
  it('flipped payload byte → tag (real CLI: exit 1, "error: tag: …", empty stdout)', async () => {
    const c = await copyDump();
    const dump = await loadDump(c.dir);
    const big = await payloadPath(dump, c.dir, 'Secret', (s) => s > 3 * 1024 * 1024);
    const data = await readFile(big);
    data[data.length - 100]! ^= 0x01;
    await writeFile(big, data);
    const r = await runCli(['decrypt-dump', c.dir, '--words-file', fx.wordsFile, '--out', c.out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: tag: /m);
    await expectNoPlaintext(c.parent, c.out);
  });

  it('removed payload → missing-file', async () => {
    const c = await copyDump();
    const dump = await loadDump(c.dir);
    await rm(await payloadPath(dump, c.dir, 'Secret', (s) => s === 16));
    expect(await kindOf(decrypt(c))).toBe('missing-file');
    await expectNoPlaintext(c.parent, c.out);
  });

  it('removed sub-folder → missing-file', async () => {
    const c = await copyDump();
    const dump = await loadDump(c.dir);
    const leaf = dump.folders.filter((f) => f.parentFileId !== null).at(-1)!;
    await saveDump(c.dir, { ...dump, folders: dump.folders.filter((f) => f !== leaf) });
    expect(await kindOf(decrypt(c))).toBe('missing-file');
    await expectNoPlaintext(c.parent, c.out);
  });

  it('modified metadata ciphertext → signature', async () => {
    const c = await copyDump();
    const dump = await loadDump(c.dir);
    const folders = dump.folders.map((f) => {
      if (f.name !== 'Secret') return f;
      const doc = JSON.parse(f.metadata) as { metadata: { ciphertext: string } };
      const ct = doc.metadata.ciphertext;
      doc.metadata.ciphertext = (ct[5] === 'A' ? 'B' : 'A') + ct.slice(1);
      doc.metadata.ciphertext = ct.slice(0, 5) + (ct[5] === 'A' ? 'B' : 'A') + ct.slice(6);
      return { ...f, metadata: JSON.stringify(doc) };
    });
    await saveDump(c.dir, { ...dump, folders });
    expect(await kindOf(decrypt(c))).toBe('signature');
    await expectNoPlaintext(c.parent, c.out);
  });

  it('swapped signature → signature', async () => {
    const c = await copyDump();
    const dump = await loadDump(c.dir);
    const sub = dump.folders.find((f) => f.parentFileId !== null)!;
    const folders = dump.folders.map((f) => (f.name === 'Secret' ? { ...f, signature: sub.signature } : f));
    await saveDump(c.dir, { ...dump, folders });
    expect(await kindOf(decrypt(c))).toBe('signature');
    await expectNoPlaintext(c.parent, c.out);
  });

  it('missing signature on 2.x metadata → signature', async () => {
    const c = await copyDump();
    const dump = await loadDump(c.dir);
    const folders = dump.folders.map((f) => (f.parentFileId !== null ? { ...f, signature: null } : f));
    await saveDump(c.dir, { ...dump, folders });
    expect(await kindOf(decrypt(c))).toBe('signature');
    await expectNoPlaintext(c.parent, c.out);
  });

  it('replaced serverPublicKey → certificate', async () => {
    const c = await copyDump();
    const dump = await loadDump(c.dir);
    const other = pemEncode('PUBLIC KEY', await publicSpkiOf(fx.recovery.key));
    await saveDump(c.dir, { ...dump, serverPublicKey: other });
    expect(await kindOf(decrypt(c))).toBe('certificate');
    await expectNoPlaintext(c.parent, c.out);
  });

  it('known counter higher than the document (--known-counters) → counter; equal is fine', async () => {
    const c = await copyDump();
    const dump = await loadDump(c.dir);
    const sub = dump.folders.find((f) => f.parentFileId !== null)!;
    const file = join(c.parent, '..', `counters-${copies}.json`);
    await writeFile(file, JSON.stringify({ [sub.fileId]: 1_000 }));
    expect(await kindOf(decrypt(c, { knownCountersFile: file }))).toBe('counter');
    await expectNoPlaintext(c.parent, c.out);
    // the dump's own knownCounters count too
    await saveDump(c.dir, { ...dump, knownCounters: { [fx.secretId]: 999 } });
    expect(await kindOf(decrypt(c))).toBe('counter');
    await expectNoPlaintext(c.parent, c.out);
    // a known counter equal to the document's is accepted
    const root = dump.folders.find((f) => f.name === 'Secret')!;
    const v = await verifyRootMetadata({
      document: root.metadata,
      signature: root.signature ?? undefined,
      self: { userId: 'alice', key: fx.alice.key },
      serverPublicKeyPem: dump.serverPublicKey,
    });
    await saveDump(c.dir, { ...dump, knownCounters: { [fx.secretId]: v.inner.counter } });
    expect(await kindOf(decrypt(c))).toBe('ok');
  });

  it('key checksum stripped and re-signed by a member → key-checksum', async () => {
    const c = await copyDump();
    const dump = await resignSecret(await loadDump(c.dir), (d) => ({
      ...d,
      inner: { ...d.inner, keyChecksums: ['0'.repeat(64)] },
    }));
    await saveDump(c.dir, dump);
    expect(await kindOf(decrypt(c))).toBe('key-checksum');
    await expectNoPlaintext(c.parent, c.out);
  });

  it('wrong words → mnemonic', async () => {
    const c = await copyDump();
    const words = join(c.parent, '..', `wrong-words-${copies}.txt`);
    await writeFile(words, generateMnemonic().join(' '));
    expect(await kindOf(decrypt(c, { wordsFile: words }))).toBe('mnemonic');
    await expectNoPlaintext(c.parent, c.out);
  });

  it('malformed JSON, unknown members, children before parents → format', async () => {
    const c = await copyDump();
    const path = join(c.dir, 'cipherfold-dump.json');
    const good = await readFile(path, 'utf8');
    await writeFile(path, good.slice(0, -10));
    expect(await kindOf(decrypt(c))).toBe('format');
    const dump = JSON.parse(good) as Dump & Record<string, unknown>;
    await writeFile(path, JSON.stringify({ ...dump, extra: 1 }));
    expect(await kindOf(decrypt(c))).toBe('format');
    await writeFile(path, JSON.stringify({ ...dump, folders: [...dump.folders].reverse() }));
    expect(await kindOf(decrypt(c))).toBe('format');
    await writeFile(path, JSON.stringify({ ...dump, format: 2 }));
    expect(await kindOf(decrypt(c))).toBe('format');
    await expectNoPlaintext(c.parent, c.out);
  });
});
