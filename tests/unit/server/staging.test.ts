/** Staging finalise/abort of the stand-in (protocol.md §4.4, §5.4; nc31 DIFFERS #8). */
import { describe, expect, it } from 'vitest';
import { abortFolder, addTouched, endCycle, finaliseFolder } from '../../server/locks';
import { Store, type FileNode } from '../../server/storage';

function setup(): { store: Store; root: FileNode; f: FileNode } {
  const store = new Store();
  const home = store.ensureHome('alice');
  const f = store.createChild(home, 'enc', true);
  f.encrypted = true;
  return { store, root: home, f };
}

function names(store: Store, n: FileNode): string[] {
  return store
    .children(n)
    .map((c) => c.name)
    .sort();
}

describe('staging', () => {
  it('finalise renames .e2e-to-save over the original (new id), deletes .e2e-to-delete, promotes metadata and counter', () => {
    const { store, f } = setup();
    const old = store.createChild(f, 'a', false);
    store.writeBlob(old.id, Buffer.from('old'));
    const gone = store.createChild(f, 'b', false);
    store.move(gone, f, 'b.e2e-to-delete');
    const fresh = store.createChild(f, 'a.e2e-to-save', false);
    store.writeBlob(fresh.id, Buffer.from('new'));
    const e = store.e2ee(f.id);
    e.committed = { text: 'v1', signature: 's1' };
    e.history.push(e.committed);
    e.staged = { text: 'v2', signature: 's2' };
    e.stagedCounter = 7;
    finaliseFolder(store, f.id);
    expect(names(store, f)).toEqual(['a']);
    expect(store.child(f, 'a')!.id).toBe(fresh.id);
    expect(store.readBlob(fresh.id).toString()).toBe('new');
    expect(store.node(old.id)).toBeUndefined();
    expect(e.committed).toEqual({ text: 'v2', signature: 's2' });
    expect(e.history.map((h) => h.text)).toEqual(['v1', 'v2']);
    expect(e.counter).toBe(7);
    expect(e.staged).toBeUndefined();
  });

  it('abort deletes .e2e-to-save, restores .e2e-to-delete and drops staged metadata/counter', () => {
    const { store, f } = setup();
    const keep = store.createChild(f, 'k', false);
    store.move(keep, f, 'k.e2e-to-delete');
    store.createChild(f, 'n.e2e-to-save', false);
    const e = store.e2ee(f.id);
    e.committed = { text: 'v1', signature: 's1' };
    e.staged = { text: 'v2', signature: 's2' };
    e.stagedCounter = 3;
    abortFolder(store, f.id);
    expect(names(store, f)).toEqual(['k']);
    expect(store.child(f, 'k')!.id).toBe(keep.id);
    expect(e.committed.text).toBe('v1');
    expect(e.staged).toBeUndefined();
    expect(e.stagedCounter).toBeUndefined();
    expect(e.counter).toBeUndefined();
  });

  it('a staged metadata DELETE removes the committed document at finalise', () => {
    const { store, f } = setup();
    const e = store.e2ee(f.id);
    e.committed = { text: 'v1', signature: 's1' };
    e.staged = { deleted: true };
    finaliseFolder(store, f.id);
    expect(e.committed).toBeUndefined();
  });

  it('endCycle processes touched folders deepest first: a deleted sub-folder is committed before its parent', () => {
    const { store, f } = setup();
    const sub = store.createChild(f, 's', true);
    sub.encrypted = true;
    store.e2ee(sub.id).committed = { text: 'sub', signature: 'x' };
    store.e2ee(sub.id).staged = { deleted: true };
    store.move(sub, f, 's.e2e-to-delete');
    store.e2ee(f.id).committed = { text: 'f1', signature: 'x' };
    store.e2ee(f.id).staged = { text: 'f2', signature: 'y' };
    store.state.locks[String(f.id)] = { token: 't', created: Date.now(), by: 'alice' };
    addTouched(store, 't', f.id);
    addTouched(store, 't', sub.id);
    endCycle(store, 't', f.id, false);
    expect(store.node(sub.id)).toBeUndefined();
    expect(store.peekE2ee(sub.id)?.committed).toBeUndefined();
    expect(store.e2ee(f.id).committed!.text).toBe('f2');
    expect(store.lockOf(f.id)).toBeUndefined();
    expect(store.state.touched.t).toBeUndefined();
  });

  it('deleting the topmost folder: the folder goes, its final metadata stays', () => {
    const { store, root, f } = setup();
    store.e2ee(f.id).committed = { text: 'r1', signature: 'x' };
    store.e2ee(f.id).staged = { text: 'deleted:true', signature: 'y' };
    store.move(f, root, 'enc.e2e-to-delete');
    finaliseFolder(store, f.id);
    expect(store.node(f.id)).toBeUndefined();
    expect(store.peekE2ee(f.id)!.committed!.text).toBe('deleted:true');
  });

  it('the staged counter of a locked but untouched folder is dropped at unlock', () => {
    const { store, f } = setup();
    const e = store.e2ee(f.id);
    e.committed = { text: 'v1', signature: 's' };
    e.counter = 1;
    e.stagedCounter = 6;
    store.state.locks[String(f.id)] = { token: 't', created: Date.now(), by: 'alice' };
    endCycle(store, 't', f.id, false);
    expect(e.counter).toBe(1);
    expect(e.stagedCounter).toBeUndefined();
  });

  it('leftover .e2e-to-save entries are committed by the next metadata-writing cycle (observed DIFFERS #8)', () => {
    const { store, f } = setup();
    store.createChild(f, 'orphan.e2e-to-save', false);
    store.state.locks[String(f.id)] = { token: 't1', created: Date.now(), by: 'alice' };
    endCycle(store, 't1', f.id, false); // no metadata write: not touched, stays staged
    expect(names(store, f)).toEqual(['orphan.e2e-to-save']);
    store.state.locks[String(f.id)] = { token: 't2', created: Date.now(), by: 'alice' };
    store.createChild(f, 'new.e2e-to-save', false);
    store.e2ee(f.id).staged = { text: 'm', signature: 's' };
    addTouched(store, 't2', f.id);
    endCycle(store, 't2', f.id, false);
    expect(names(store, f)).toEqual(['new', 'orphan']);
  });
});
