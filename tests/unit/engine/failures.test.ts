/** Lock contention, server errors and network failures leave folders consistent and unlocked. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnlockFailedError, retryUnlock } from '../../../lib/engine/lock';
import { uploadFiles } from '../../../lib/engine/ops';
import type { OpenedFolder } from '../../../lib/engine/folders';
import { enc, kindOf, makeWorld, rootName, snapshot, source, type World } from './helpers';

const META_PUT = /\/end_to_end_encryption\/api\/v2\/meta-data\/\d+(\?|$)/;
const LOCK = /\/end_to_end_encryption\/api\/v2\/lock\/\d+/;

describe.each(['main', 'nc31'] as const)('failures and contention (%s)', (flavour) => {
  let w: World;
  beforeAll(async () => {
    w = await makeWorld(flavour);
  });
  afterAll(() => w.close());
  const locked = (f: OpenedFolder) => w.srv.control.lockOf(Number(f.ref.fileId));

  async function freshRoot(): Promise<OpenedFolder> {
    const s = w.session('alice');
    const ref = await s.createRoot('/', rootName());
    const root = await s.open(ref.path);
    await s.uploadFile(root, 'keep.txt', enc('keep'));
    return s.open(ref.path);
  }

  it('two sessions editing the same folder at once: both files land', async () => {
    const root = await freshRoot();
    const policy = {
      backoffMs: () => 20,
      lockedAttempts: 50,
      sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    };
    const s1 = w.session('alice', { lockPolicy: policy });
    const s2 = w.session('alice', {
      lockPolicy: policy,
      store: new (await import('../../../lib/engine/trust-store')).MemoryTrustStore(),
    });
    const [f1, f2] = await Promise.all([s1.open(root.ref.path), s2.open(root.ref.path)]);
    await Promise.all([
      uploadFiles(s1, f1, [source('one.txt', '1'), source('one-b.txt', '1b')]),
      uploadFiles(s2, f2, [source('two.txt', '2')]),
    ]);
    expect(await snapshot(s1, root.ref.path)).toEqual({
      'keep.txt': 'keep',
      'one.txt': '1',
      'one-b.txt': '1b',
      'two.txt': '2',
    });
    expect(locked(root)).toBeUndefined();
  });

  it('a socket destroyed during the DAV PUT: network error, folder unchanged and unlocked', async () => {
    const root = await freshRoot();
    const s = w.session('alice');
    w.srv.control.failOnce({ method: 'PUT', path: /\/remote\.php\/dav\/files\/alice\//, action: 'destroy' });
    expect(await kindOf(s.uploadFile(root, 'x.txt', enc('x')))).toBe('network');
    expect(locked(root)).toBeUndefined();
    expect(await snapshot(s, root.ref.path)).toEqual({ 'keep.txt': 'keep' });
    await s.uploadFile(await s.reopen(root), 'y.txt', enc('y'));
    expect(await snapshot(s, root.ref.path)).toEqual({ 'keep.txt': 'keep', 'y.txt': 'y' });
  });

  it('metadata PUT fails after the blob was staged: abort reverts it and it never resurfaces', async () => {
    const root = await freshRoot();
    const s = w.session('alice');
    w.srv.control.forceStatus({ method: 'PUT', path: META_PUT, status: 503, times: 1 });
    expect(await kindOf(s.uploadFile(root, 'x.txt', enc('x')))).toBe('server');
    expect(locked(root)).toBeUndefined();
    // the next committing cycle of this folder must not finalise a leftover x blob (NC 31 behaviour)
    await s.uploadFile(await s.reopen(root), 'y.txt', enc('y'));
    const after = await s.reopen(root);
    expect(after.unknownEntries).toBe(0);
    expect(await snapshot(s, root.ref.path)).toEqual({ 'keep.txt': 'keep', 'y.txt': 'y' });
  });

  it.each([
    [423, 'locked'],
    [412, 'conflict'],
    [500, 'conflict'],
    [503, 'server'],
  ])('lock answers %i → %s, nothing changed, no stuck lock', async (status, kind) => {
    const root = await freshRoot();
    const s = w.session('alice');
    const rule = w.srv.control.forceStatus({ method: 'POST', path: LOCK, status });
    try {
      expect(await kindOf(s.uploadFile(root, 'x.txt', enc('x')))).toBe(kind);
    } finally {
      w.srv.control.clearRule(rule);
    }
    expect(locked(root)).toBeUndefined();
    expect(await snapshot(s, root.ref.path)).toEqual({ 'keep.txt': 'keep' });
  });

  it.each([
    [423, 'locked'],
    [412, 'conflict'],
    [500, 'server'],
    [503, 'server'],
  ])('metadata PUT answers %i → %s, aborted, no stuck lock', async (status, kind) => {
    const root = await freshRoot();
    const s = w.session('alice');
    const rule = w.srv.control.forceStatus({ method: 'PUT', path: META_PUT, status, times: 1 });
    try {
      expect(await kindOf(s.createFolder(root, 'Sub'))).toBe(kind);
    } finally {
      w.srv.control.clearRule(rule);
    }
    expect(locked(root)).toBeUndefined();
    expect(await snapshot(s, root.ref.path)).toEqual({ 'keep.txt': 'keep' });
    await s.createFolder(await s.reopen(root), 'Sub2');
    const after = await s.reopen(root);
    expect(after.unknownEntries).toBe(0);
    expect(after.entries.map((e) => e.name).sort()).toEqual(['Sub2', 'keep.txt']);
  });

  it('metadata PUTs keep failing: the staged folder cannot be reverted and shows up later as one unknown entry', async () => {
    // Known limitation (docs/operations.md): the abort only reverts folders whose metadata was written
    // under the token; when even the unchanged rewrite fails, the staged MKCOL is committed by the next
    // cycle of that folder (NC 31 behaviour). It carries no name and no key: listed as unknown, nothing lost.
    const root = await freshRoot();
    const s = w.session('alice');
    const rule = w.srv.control.forceStatus({ method: 'PUT', path: META_PUT, status: 503 });
    try {
      expect(await kindOf(s.createFolder(root, 'Sub'))).toBe('server');
    } finally {
      w.srv.control.clearRule(rule);
    }
    expect(locked(root)).toBeUndefined();
    await s.createFolder(await s.reopen(root), 'Sub2');
    const after = await s.reopen(root);
    expect(after.unknownEntries).toBe(1);
    expect(after.entries.map((e) => e.name).sort()).toEqual(['Sub2', 'keep.txt']);
  });

  it('a failed unlock after the metadata write is reported distinctly and can be finished', async () => {
    const root = await freshRoot();
    const s = w.session('alice');
    w.srv.control.forceStatus({ method: 'DELETE', path: LOCK, status: 503, times: 1 });
    let err: unknown;
    await s.uploadFile(root, 'late.txt', enc('late')).catch((e: unknown) => (err = e));
    expect(err).toBeInstanceOf(UnlockFailedError);
    expect(locked(root)).toBeDefined();
    expect(await snapshot(s, root.ref.path)).toEqual({ 'keep.txt': 'keep' }); // not committed yet
    await retryUnlock(s.client, err as UnlockFailedError);
    expect(await snapshot(s, root.ref.path)).toEqual({ 'keep.txt': 'keep', 'late.txt': 'late' });
  });

  it('server counter drifted above the inner counter: retried with a higher counter', async () => {
    const root = await freshRoot();
    const s = w.session('alice', { lockPolicy: { sleep: async () => undefined } });
    const c = s.client;
    // another client locks with a much higher counter and commits the document unchanged
    const t = await c.e2ee.lock(root.ref.fileId, root.verified.inner.counter + 6);
    const { metadata, signature } = await c.e2ee.getMetadata(root.ref.fileId);
    await c.e2ee.updateMetadata(root.ref.fileId, metadata, signature, t);
    await c.e2ee.unlock(root.ref.fileId, t);
    await s.uploadFile(await s.reopen(root), 'z.txt', enc('z'));
    const after = await s.reopen(root);
    expect(after.verified.inner.counter).toBeGreaterThan(root.verified.inner.counter + 6);
    expect(await snapshot(s, root.ref.path)).toEqual({ 'keep.txt': 'keep', 'z.txt': 'z' });
  });

  it('a cancelled signal stops lock retries', async () => {
    const root = await freshRoot();
    const ctl = new AbortController();
    const s = w.session('alice', {
      lockPolicy: { signal: ctl.signal, lockedAttempts: 100, backoffMs: () => 10 },
    });
    const rule = w.srv.control.forceStatus({ method: 'POST', path: LOCK, status: 423 });
    setTimeout(() => ctl.abort(), 50);
    try {
      expect(await kindOf(s.uploadFile(root, 'x.txt', enc('x')))).toBe('cancelled');
    } finally {
      w.srv.control.clearRule(rule);
    }
  });
});
