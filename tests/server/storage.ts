/**
 * State of the stand-in server: a file tree per user (nodes with stable numeric ids), E2EE metadata, locks,
 * keys, app passwords and shares. Kept in memory; optionally persisted as JSON + blob files in a data dir.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface FileNode {
  id: number;
  owner: string;
  name: string;
  parent: number | null;
  dir: boolean;
  /** name → node id (folders only) */
  children?: Record<string, number>;
  size: number;
  /** seconds since epoch */
  mtime: number;
  etag: string;
  mimetype: string;
  /** the E2EE flag of this node (folders) */
  encrypted: boolean;
}

export interface MetaDoc {
  text: string;
  signature: string;
}

export interface FolderE2ee {
  committed?: MetaDoc;
  /** staged ("intermediate") document; `deleted` = staged DELETE */
  staged?: MetaDoc | { deleted: true };
  /** counter of the last committed lock cycle */
  counter?: number;
  stagedCounter?: number;
  /** every committed document, oldest first */
  history: MetaDoc[];
  /** v1 lock cycles: staged v1 document is committed at v1 unlock */
  v1?: boolean;
}

export interface LockRec {
  token: string;
  created: number;
  by: string;
  v1?: boolean;
}

export interface ShareRec {
  id: number;
  type: 0 | 3;
  owner: string;
  nodeId: number;
  shareWith?: string;
  token?: string;
  permissions: number;
  stime: number;
  fileTarget?: string;
  password?: string;
  label: string;
  note: string;
  expiration: string | null;
  hideDownload: boolean;
}

export interface UserRec {
  id: string;
  password: string;
  displayName: string;
  email: string;
  admin: boolean;
}

export interface AppPasswordRec {
  uid: string;
  created: number;
  name: string;
}

export interface PersistedState {
  nextId: number;
  nextShareId: number;
  instanceId: string;
  users: Record<string, UserRec>;
  homes: Record<string, number>;
  nodes: Record<string, FileNode>;
  e2ee: Record<string, FolderE2ee>;
  locks: Record<string, LockRec>;
  touched: Record<string, number[]>;
  publicKeys: Record<string, string>;
  privateKeys: Record<string, string>;
  appPasswords: Record<string, AppPasswordRec>;
  shares: Record<string, ShareRec>;
  serverKey?: { pkcs8: string; spkiPem: string };
}

export const SAVE_SUFFIX = '.e2e-to-save';
export const DELETE_SUFFIX = '.e2e-to-delete';

export function newEtag(): string {
  return randomBytes(8).toString('hex');
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export class Store {
  state: PersistedState;
  private blobs = new Map<number, Buffer>();
  private dirty = false;

  constructor(private readonly dataDir?: string) {
    this.state = {
      nextId: 100,
      nextShareId: 1,
      instanceId: 'oc' + randomBytes(5).toString('hex'),
      users: {},
      homes: {},
      nodes: {},
      e2ee: {},
      locks: {},
      touched: {},
      publicKeys: {},
      privateKeys: {},
      appPasswords: {},
      shares: {},
    };
    if (dataDir) {
      fs.mkdirSync(path.join(dataDir, 'blobs'), { recursive: true });
      const file = path.join(dataDir, 'state.json');
      if (fs.existsSync(file)) {
        this.state = { ...this.state, ...(JSON.parse(fs.readFileSync(file, 'utf8')) as PersistedState) };
      }
    }
  }

  // ---------- persistence ----------
  markDirty(): void {
    this.dirty = true;
  }

  flush(): void {
    if (!this.dataDir || !this.dirty) return;
    this.dirty = false;
    const file = path.join(this.dataDir, 'state.json');
    fs.writeFileSync(file + '.tmp', JSON.stringify(this.state));
    fs.renameSync(file + '.tmp', file);
  }

  private blobFile(id: number): string {
    return path.join(this.dataDir ?? '', 'blobs', String(id));
  }

  readBlob(id: number): Buffer {
    const b = this.blobs.get(id);
    if (b) return b;
    if (this.dataDir) {
      const f = this.blobFile(id);
      if (fs.existsSync(f)) return fs.readFileSync(f);
    }
    return Buffer.alloc(0);
  }

  writeBlob(id: number, data: Buffer): void {
    if (this.dataDir) fs.writeFileSync(this.blobFile(id), data);
    else this.blobs.set(id, data);
    const n = this.node(id);
    if (n) n.size = data.length;
    this.markDirty();
  }

  private dropBlob(id: number): void {
    this.blobs.delete(id);
    if (this.dataDir) fs.rmSync(this.blobFile(id), { force: true });
  }

  // ---------- users ----------
  ensureHome(uid: string): FileNode {
    const existing = this.state.homes[uid];
    if (existing !== undefined && this.node(existing)) return this.node(existing)!;
    const home = this.makeNode(uid, '', null, true);
    this.state.homes[uid] = home.id;
    this.markDirty();
    return home;
  }

  homeOf(uid: string): FileNode | undefined {
    const id = this.state.homes[uid];
    return id === undefined ? undefined : this.node(id);
  }

  // ---------- tree ----------
  node(id: number): FileNode | undefined {
    return this.state.nodes[String(id)];
  }

  private makeNode(owner: string, name: string, parent: number | null, dir: boolean): FileNode {
    const id = this.state.nextId++;
    const n: FileNode = {
      id,
      owner,
      name,
      parent,
      dir,
      size: 0,
      mtime: nowSeconds(),
      etag: newEtag(),
      mimetype: dir ? 'httpd/unix-directory' : mimeOf(name),
      encrypted: false,
    };
    if (dir) n.children = {};
    this.state.nodes[String(id)] = n;
    this.markDirty();
    return n;
  }

  children(n: FileNode): FileNode[] {
    if (!n.children) return [];
    return Object.values(n.children)
      .map((id) => this.node(id))
      .filter((c): c is FileNode => !!c);
  }

  child(n: FileNode, name: string): FileNode | undefined {
    const id = n.children?.[name];
    return id === undefined ? undefined : this.node(id);
  }

  createChild(parent: FileNode, name: string, dir: boolean): FileNode {
    const n = this.makeNode(parent.owner, name, parent.id, dir);
    parent.children![name] = n.id;
    this.touch(parent);
    return n;
  }

  /** Ancestors from the parent up to the home root (nearest first). */
  ancestors(n: FileNode): FileNode[] {
    const out: FileNode[] = [];
    let p = n.parent === null ? undefined : this.node(n.parent);
    while (p) {
      out.push(p);
      p = p.parent === null ? undefined : this.node(p.parent);
    }
    return out;
  }

  /** Path relative to the owner's home, '/' for the home itself, '/a/b' otherwise. */
  pathOf(n: FileNode): string {
    const parts: string[] = [];
    let cur: FileNode | undefined = n;
    while (cur && cur.parent !== null) {
      parts.unshift(cur.name);
      cur = this.node(cur.parent);
    }
    return '/' + parts.join('/');
  }

  depth(n: FileNode): number {
    return this.ancestors(n).length;
  }

  isAncestorOrSelf(anc: FileNode, n: FileNode): boolean {
    return anc.id === n.id || this.ancestors(n).some((a) => a.id === anc.id);
  }

  /** Update mtime/etag of a node and etags of all ancestors (folder etags change with their content). */
  touch(n: FileNode, mtime?: number): void {
    n.mtime = mtime ?? nowSeconds();
    n.etag = newEtag();
    for (const a of this.ancestors(n)) a.etag = newEtag();
    this.markDirty();
  }

  recomputeSize(n: FileNode): number {
    if (!n.dir) return n.size;
    return this.children(n).reduce((s, c) => s + this.recomputeSize(c), 0);
  }

  /** Remove a node and its subtree permanently. Metadata of removed folders is kept unless dropMetadata. */
  remove(n: FileNode, dropMetadata = false): number[] {
    const removed: number[] = [];
    const walk = (x: FileNode): void => {
      for (const c of this.children(x)) walk(c);
      removed.push(x.id);
      if (!x.dir) this.dropBlob(x.id);
      delete this.state.nodes[String(x.id)];
      delete this.state.locks[String(x.id)];
      if (dropMetadata) delete this.state.e2ee[String(x.id)];
    };
    const parent = n.parent === null ? undefined : this.node(n.parent);
    if (parent?.children && parent.children[n.name] === n.id) delete parent.children[n.name];
    walk(n);
    if (parent) this.touch(parent);
    // shares of removed nodes disappear
    for (const [sid, s] of Object.entries(this.state.shares)) {
      if (removed.includes(s.nodeId)) delete this.state.shares[sid];
    }
    this.markDirty();
    return removed;
  }

  /** Move/rename keeping the id; replaces an existing target node. */
  move(n: FileNode, newParent: FileNode, newName: string): void {
    const existing = this.child(newParent, newName);
    if (existing && existing.id !== n.id) this.remove(existing);
    const oldParent = n.parent === null ? undefined : this.node(n.parent);
    if (oldParent?.children && oldParent.children[n.name] === n.id) {
      delete oldParent.children[n.name];
      this.touch(oldParent);
    }
    n.name = newName;
    n.parent = newParent.id;
    if (!n.dir) n.mimetype = mimeOf(newName);
    newParent.children![newName] = n.id;
    this.touch(newParent);
    n.etag = newEtag();
    this.markDirty();
  }

  /** Deep copy (new ids). */
  copy(n: FileNode, newParent: FileNode, newName: string): FileNode {
    const existing = this.child(newParent, newName);
    if (existing) this.remove(existing);
    const c = this.createChild(newParent, newName, n.dir);
    c.mtime = n.mtime;
    c.encrypted = n.encrypted;
    if (n.dir) for (const ch of this.children(n)) this.copy(ch, c, ch.name);
    else this.writeBlob(c.id, this.readBlob(n.id));
    return c;
  }

  // ---------- e2ee ----------
  e2ee(id: number): FolderE2ee {
    const k = String(id);
    let f = this.state.e2ee[k];
    if (!f) {
      f = { history: [] };
      this.state.e2ee[k] = f;
    }
    return f;
  }

  peekE2ee(id: number): FolderE2ee | undefined {
    return this.state.e2ee[String(id)];
  }

  lockOf(id: number): LockRec | undefined {
    return this.state.locks[String(id)];
  }
}

const MIME: Record<string, string> = {
  txt: 'text/plain',
  md: 'text/markdown',
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  json: 'application/json',
  html: 'text/html',
};

export function mimeOf(name: string): string {
  const m = /\.([A-Za-z0-9]+)$/.exec(name);
  return (m && MIME[m[1]!.toLowerCase()]) || 'application/octet-stream';
}
