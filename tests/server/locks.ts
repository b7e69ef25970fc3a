/**
 * E2EE folder locks and staging (protocol.md §4.4, §5.3, §5.4, §9.18): lock lookups along the ancestor
 * chain, finalising/aborting touched folders at unlock, and the rollback job for abandoned locks.
 */
import { randomAlnum } from './auth';
import type { Srv } from './context';
import { DELETE_SUFFIX, SAVE_SUFFIX, type FileNode, type LockRec, type Store } from './storage';

export function newLockToken(): string {
  return randomAlnum(64);
}

/** The folder's own flag (files: their parent's flag) — the rule the server's DAV plugins apply (G-16). */
export function isE2eeNode(store: Store, n: FileNode): boolean {
  if (n.dir) return n.encrypted;
  const p = n.parent === null ? undefined : store.node(n.parent);
  return !!p?.encrypted;
}

export function inEncryptedTree(store: Store, n: FileNode): boolean {
  return n.encrypted || store.ancestors(n).some((a) => a.encrypted);
}

/** node and its ancestors, nearest first */
function chain(store: Store, n: FileNode): FileNode[] {
  return [n, ...store.ancestors(n)];
}

/** A lock on the node or an ancestor held with a token other than `token`. */
export function conflictingLock(store: Store, n: FileNode, token: string | undefined): LockRec | undefined {
  for (const x of chain(store, n)) {
    const l = store.lockOf(x.id);
    if (l && l.token !== token) return l;
  }
  return undefined;
}

/** Is the node or one of its ancestors locked with exactly this token? */
export function lockedByToken(store: Store, n: FileNode, token: string): boolean {
  return chain(store, n).some((x) => store.lockOf(x.id)?.token === token);
}

export function anyLock(store: Store, n: FileNode): LockRec | undefined {
  for (const x of chain(store, n)) {
    const l = store.lockOf(x.id);
    if (l) return l;
  }
  return undefined;
}

export function addTouched(store: Store, token: string, folderId: number): void {
  const t = (store.state.touched[token] ??= []);
  if (!t.includes(folderId)) t.push(folderId);
  store.markDirty();
}

function strip(name: string, suffix: string): string {
  return name.slice(0, -suffix.length);
}

/** Commit staged DAV changes and the staged metadata/counter of one folder. */
export function finaliseFolder(store: Store, folderId: number): void {
  const folder = store.node(folderId);
  if (folder) {
    for (const c of store.children(folder)) {
      if (c.name.endsWith(DELETE_SUFFIX)) store.remove(c);
    }
    for (const c of store.children(folder)) {
      if (c.name.endsWith(SAVE_SUFFIX)) store.move(c, folder, strip(c.name, SAVE_SUFFIX));
    }
  }
  const f = store.peekE2ee(folderId);
  if (f) {
    if (f.staged) {
      if ('deleted' in f.staged) delete f.committed;
      else {
        f.committed = f.staged;
        f.history.push(f.staged);
      }
      delete f.staged;
    }
    if (f.stagedCounter !== undefined) {
      f.counter = f.stagedCounter;
      delete f.stagedCounter;
    }
  }
  if (folder && folder.name.endsWith(DELETE_SUFFIX)) store.remove(folder);
  store.markDirty();
}

/** Revert staged DAV changes and drop the staged metadata/counter of one folder. */
export function abortFolder(store: Store, folderId: number): void {
  const folder = store.node(folderId);
  if (folder) {
    for (const c of store.children(folder)) {
      if (c.name.endsWith(SAVE_SUFFIX)) store.remove(c);
    }
    for (const c of store.children(folder)) {
      if (c.name.endsWith(DELETE_SUFFIX)) {
        const orig = strip(c.name, DELETE_SUFFIX);
        if (store.child(folder, orig)) store.remove(c);
        else store.move(c, folder, orig);
      }
    }
    if (folder.name.endsWith(DELETE_SUFFIX) && folder.parent !== null) {
      const parent = store.node(folder.parent)!;
      const orig = strip(folder.name, DELETE_SUFFIX);
      if (!store.child(parent, orig)) store.move(folder, parent, orig);
    }
  }
  const f = store.peekE2ee(folderId);
  if (f) {
    delete f.staged;
    delete f.stagedCounter;
  }
  store.markDirty();
}

/**
 * End a v2 lock cycle: finalise (or abort) every folder touched under the token, deepest first, then drop
 * the lock of `lockedId` (if it holds one with this token) and the token's touched list.
 */
export function endCycle(store: Store, token: string, lockedId: number | undefined, abort: boolean): void {
  const touched = store.state.touched[token] ?? [];
  const withDepth = touched.map((id) => {
    const n = store.node(id);
    return { id, depth: n ? store.depth(n) : -1 };
  });
  withDepth.sort((a, b) => b.depth - a.depth);
  for (const { id } of withDepth) {
    if (abort) abortFolder(store, id);
    else finaliseFolder(store, id);
  }
  delete store.state.touched[token];
  if (lockedId !== undefined) {
    const f = store.peekE2ee(lockedId);
    if (f && f.stagedCounter !== undefined) delete f.stagedCounter; // not touched: counter not committed
    const l = store.lockOf(lockedId);
    if (l && l.token === token) delete store.state.locks[String(lockedId)];
  }
  store.markDirty();
}

/** §9.18: revert abandoned locks older than `olderThanSeconds` (the locked folder only). */
export function runRollbackJob(srv: Srv, olderThanSeconds: number): number[] {
  const store = srv.store;
  const cutoff = Date.now() - olderThanSeconds * 1000;
  const out: number[] = [];
  for (const [key, l] of Object.entries(store.state.locks)) {
    if (l.created > cutoff) continue;
    const id = Number(key);
    if (store.node(id)) abortFolder(store, id);
    delete store.state.locks[key];
    out.push(id);
  }
  store.markDirty();
  return out;
}
