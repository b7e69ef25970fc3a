import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dec, enc, kindOf, makeWorld, rootName, type World } from './helpers';

describe.each(['main', 'nc31'] as const)('E2eeSession basics (%s)', (flavour) => {
  let w: World;
  beforeAll(async () => {
    w = await makeWorld(flavour);
  });
  afterAll(() => w.close());

  it('creates a root, a sub-folder and files; re-opens verified', async () => {
    const s = w.session('alice');
    const name = rootName();
    const ref = await s.createRoot('/', name);
    let root = await s.open(ref.path);
    expect(root.entries).toEqual([]);
    await s.uploadFile(root, 'a.txt', enc('hello'), 'text/plain');
    root = await s.reopen(root);
    const sub = await s.createFolder(root, 'Sub');
    root = await s.reopen(root);
    expect(root.entries.map((e) => e.name).sort()).toEqual(['Sub', 'a.txt']);
    expect(root.verified.inner.counter).toBe(3);
    const file = root.entries.find((e) => e.name === 'a.txt')!;
    expect(dec((await s.downloadFile(root, file.id)).data)).toBe('hello');
    const opened = await s.open(sub.path);
    expect(opened.clearPath).toEqual([name, 'Sub']);
    expect(w.srv.control.lockOf(Number(ref.fileId))).toBeUndefined();
  });

  it('createRoot refuses a non-empty folder and takes an empty one', async () => {
    const s = w.session('alice');
    const c = w.client('alice');
    const full = rootName('full');
    await c.dav.mkcol('/' + full);
    await c.dav.upload(`/${full}/plain.txt`, enc('x'));
    expect(await kindOf(s.createRoot('/', full))).toBe('unsupported');
    const empty = rootName('empty');
    await c.dav.mkcol('/' + empty);
    const ref = await s.createRoot('/', empty);
    expect((await s.open(ref.path)).entries).toEqual([]);
    expect(await kindOf(s.createRoot('/', empty))).toBe('conflict');
  });
});
