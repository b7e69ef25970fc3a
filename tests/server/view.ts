/** A user's view of the file trees: own home plus received share mounts; access rights per node. */
import type { Srv } from './context';
import type { FileNode, ShareRec } from './storage';

export const PERM_READ = 1;
export const PERM_UPDATE = 2;
export const PERM_CREATE = 4;
export const PERM_DELETE = 8;
export const PERM_SHARE = 16;
export const PERM_ALL = 31;

export interface Access {
  node: FileNode;
  /** the share through which the caller sees the node (recipient side) */
  share?: ShareRec;
  perms: number;
  /** path in the caller's view, '/' = home */
  path: string;
}

export function receivedShares(srv: Srv, uid: string): ShareRec[] {
  return Object.values(srv.store.state.shares).filter(
    (s) => s.type === 0 && s.shareWith === uid && srv.store.node(s.nodeId),
  );
}

export function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

export function joinPath(dir: string, name: string): string {
  return (dir === '/' ? '' : dir.replace(/\/$/, '')) + '/' + name;
}

/** Resolve a path in uid's view. */
export function resolvePath(srv: Srv, uid: string, p: string): Access | undefined {
  const home = srv.store.homeOf(uid);
  if (!home) return undefined;
  const segs = splitPath(p);
  let node: FileNode = home;
  let share: ShareRec | undefined;
  let perms = PERM_ALL;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    let next = srv.store.child(node, seg);
    if (!next && i === 0) {
      const s = receivedShares(srv, uid).find((x) => x.fileTarget === '/' + seg);
      if (s) {
        next = srv.store.node(s.nodeId);
        share = s;
        perms = s.permissions;
      }
    }
    if (!next) return undefined;
    node = next;
  }
  return { node, share, perms, path: '/' + segs.join('/') };
}

/** Access of uid to a node id: own node, or inside a share received by uid. */
export function accessById(srv: Srv, uid: string, id: number): Access | undefined {
  const node = srv.store.node(id);
  if (!node) return undefined;
  if (node.owner === uid) return { node, perms: PERM_ALL, path: srv.store.pathOf(node) };
  for (const s of receivedShares(srv, uid)) {
    const root = srv.store.node(s.nodeId);
    if (!root || !srv.store.isAncestorOrSelf(root, node)) continue;
    const rel = srv.store.pathOf(node).slice(srv.store.pathOf(root).length);
    return { node, share: s, perms: s.permissions, path: (s.fileTarget ?? '/' + root.name) + rel };
  }
  return undefined;
}

/** Link share by token. */
export function linkShare(srv: Srv, token: string): ShareRec | undefined {
  return Object.values(srv.store.state.shares).find((s) => s.type === 3 && s.token === token);
}

/** Is `node` the share root of `s` or inside it? */
export function insideShare(srv: Srv, s: ShareRec, node: FileNode): boolean {
  const root = srv.store.node(s.nodeId);
  return !!root && srv.store.isAncestorOrSelf(root, node);
}

/** Children as seen by uid: for the home root, own children plus share mounts. */
export function viewChildren(srv: Srv, uid: string, a: Access): { name: string; access: Access }[] {
  const out: { name: string; access: Access }[] = [];
  for (const c of srv.store.children(a.node)) {
    out.push({
      name: c.name,
      access: { node: c, share: a.share, perms: a.perms, path: joinPath(a.path, c.name) },
    });
  }
  if (a.path === '/' && !a.share && a.node.owner === uid) {
    for (const s of receivedShares(srv, uid)) {
      const n = srv.store.node(s.nodeId)!;
      const name = (s.fileTarget ?? '/' + n.name).slice(1);
      out.push({ name, access: { node: n, share: s, perms: s.permissions, path: '/' + name } });
    }
  }
  return out;
}

/** DAV permission letters (protocol.md §5.1 / observed: RGDNVCK folders, RGDNVW files, S prefix for shares). */
export function davPermissions(a: Access): string {
  let p = '';
  if (a.share) p += 'S';
  if (a.perms & PERM_SHARE) p += 'R';
  if (a.perms & PERM_READ) p += 'G';
  if (a.perms & PERM_DELETE) p += 'D';
  if (a.perms & PERM_UPDATE) p += 'NV';
  if (!a.node.dir && a.perms & PERM_UPDATE) p += 'W';
  if (a.node.dir && a.perms & PERM_CREATE) p += 'CK';
  return p;
}
