/**
 * WebDAV: /remote.php/dav/files/<uid>/…, /remote.php/webdav/…, chunked upload v2 under
 * /remote.php/dav/uploads/<uid>/<id>, and /public.php/dav/files/<token>/… (link shares; no staging).
 * Inside encrypted folders: UA + token enforcement and staging (protocol.md §5.3, §5.4).
 */
import type { Srv } from './context';
import {
  NS_DAV,
  NS_NC,
  NS_OC,
  multistatus,
  parsePropfind,
  sabreError,
  xmlText,
  type PropName,
  type PropValue,
} from './davxml';
import { header, send, type Ctx } from './http';
import { conflictingLock, isE2eeNode, lockedByToken } from './locks';
import { DELETE_SUFFIX, SAVE_SUFFIX, type FileNode, type ShareRec } from './storage';
import { clientSupportsE2ee } from './ua';
import {
  davPermissions,
  joinPath,
  linkShare,
  resolvePath,
  splitPath,
  viewChildren,
  PERM_CREATE,
  PERM_DELETE,
  PERM_READ,
  PERM_UPDATE,
  type Access,
} from './view';

const FORBIDDEN_NC = 'OCA\\DAV\\Connector\\Sabre\\Exception\\Forbidden';

interface View {
  kind: 'user' | 'public';
  uid: string;
  share?: ShareRec;
  /** href prefix without trailing slash, e.g. /remote.php/dav/files/alice */
  base: string;
  /** true on /remote.php (lock + staging plugins active) */
  guarded: boolean;
}

class DavError {
  constructor(
    readonly status: number,
    readonly exception: string,
    readonly message: string,
    readonly headers: Record<string, string> = {},
  ) {}
}

function fail(
  status: number,
  exception: string,
  message: string,
  headers: Record<string, string> = {},
): never {
  throw new DavError(status, exception, message, headers);
}

export async function handleDav(srv: Srv, ctx: Ctx, credentialsOk: boolean): Promise<void> {
  try {
    await route(srv, ctx, credentialsOk);
  } catch (e) {
    if (e instanceof DavError) {
      send(ctx, e.status, sabreError(e.exception, e.message), {
        'Content-Type': 'application/xml; charset=utf-8',
        ...e.headers,
      });
      return;
    }
    throw e;
  }
}

function notAuthenticated(ctx: Ctx): never {
  const headers: Record<string, string> = {};
  if (header(ctx, 'x-requested-with') !== 'XMLHttpRequest') {
    headers['WWW-Authenticate'] = 'Basic realm="Nextcloud", charset="UTF-8"';
  }
  fail(401, 'Sabre\\DAV\\Exception\\NotAuthenticated', 'No public access to this resource.', headers);
}

async function route(srv: Srv, ctx: Ctx, credentialsOk: boolean): Promise<void> {
  const p = ctx.path;
  if (ctx.method === 'OPTIONS') {
    send(ctx, 200, '', {
      DAV: '1, 3, extended-mkcol, access-control, calendarserver-principal-property-search, nextcloud-checksum-update',
      Allow: 'OPTIONS, GET, HEAD, DELETE, PROPFIND, PUT, PROPPATCH, COPY, MOVE, MKCOL, REPORT, SEARCH',
    });
    return;
  }
  const pub = /^\/public\.php\/dav\/files\/([^/]+)(\/.*)?$/.exec(p);
  if (pub) {
    const share = linkShare(srv, pub[1]!);
    if (!share || !srv.store.node(share.nodeId)) notAuthenticated(ctx);
    if (
      !['GET', 'HEAD', 'PROPFIND'].includes(ctx.method) &&
      header(ctx, 'x-requested-with') !== 'XMLHttpRequest'
    ) {
      notAuthenticated(ctx);
    }
    const view: View = {
      kind: 'public',
      uid: share.owner,
      share,
      base: `/public.php/dav/files/${pub[1]}`,
      guarded: false,
    };
    return files(srv, ctx, view, pub[2] ?? '/');
  }
  if (!credentialsOk || !ctx.user) notAuthenticated(ctx);
  const uid = ctx.user;
  const legacy = /^\/remote\.php\/webdav(\/.*)?$/.exec(p);
  if (legacy) {
    return files(
      srv,
      ctx,
      { kind: 'user', uid, base: '/remote.php/webdav', guarded: true },
      legacy[1] ?? '/',
    );
  }
  const fm = /^\/remote\.php\/dav\/files\/([^/]+)(\/.*)?$/.exec(p);
  if (fm) {
    if (fm[1] !== uid)
      fail(403, 'Sabre\\DAV\\Exception\\Forbidden', "Not allowed to access another user's files");
    return files(
      srv,
      ctx,
      { kind: 'user', uid, base: `/remote.php/dav/files/${encodeURIComponent(uid)}`, guarded: true },
      fm[2] ?? '/',
    );
  }
  const up = /^\/remote\.php\/dav\/uploads\/([^/]+)\/([^/]+)(?:\/([^/]+))?\/?$/.exec(p);
  if (up) {
    if (up[1] !== uid) fail(403, 'Sabre\\DAV\\Exception\\Forbidden', 'Not allowed');
    return uploads(srv, ctx, uid, up[2]!, up[3]);
  }
  if (/^\/remote\.php\/dav\/?$/.test(p) && ctx.method === 'SEARCH') return search(srv, ctx, uid);
  if (/^\/remote\.php\/dav\/?$/.test(p) && ctx.method === 'PROPFIND') {
    send(
      ctx,
      207,
      multistatus([
        {
          href: '/remote.php/dav/',
          found: [{ name: { ns: NS_DAV, local: 'resourcetype' }, xml: '<d:collection/>' }],
          missing: [],
        },
      ]),
      {
        'Content-Type': 'application/xml; charset=utf-8',
      },
    );
    return;
  }
  fail(404, 'Sabre\\DAV\\Exception\\NotFound', 'Not found');
}

// ---------- path resolution ----------

function resolve(srv: Srv, view: View, path: string): Access | undefined {
  if (view.kind === 'user') return resolvePath(srv, view.uid, path);
  const root = srv.store.node(view.share!.nodeId)!;
  let node: FileNode = root;
  for (const seg of splitPath(path)) {
    const next = srv.store.child(node, seg);
    if (!next) return undefined;
    node = next;
  }
  return { node, share: view.share, perms: view.share!.permissions, path: '/' + splitPath(path).join('/') };
}

function parentPath(path: string): { dir: string; name: string } {
  const segs = splitPath(path);
  const name = segs.pop() ?? '';
  return { dir: '/' + segs.join('/'), name };
}

/** Resolve for reading: a missing name inside an encrypted folder falls back to `name.e2e-to-delete`. */
function resolveRead(srv: Srv, view: View, path: string): Access | undefined {
  const a = resolve(srv, view, path);
  if (a || !view.guarded) return a;
  const { dir, name } = parentPath(path);
  const parent = resolve(srv, view, dir);
  if (!parent || !parent.node.dir) return undefined;
  const alt = srv.store.child(parent.node, name + DELETE_SUFFIX);
  if (!alt || !(parent.node.encrypted || alt.encrypted)) return undefined;
  return { node: alt, share: parent.share, perms: parent.perms, path: joinPath(parent.path, name) };
}

function href(view: View, path: string, dir: boolean): string {
  const segs = splitPath(path).map((s) => encodeURIComponent(s));
  let h = view.base + '/' + segs.join('/');
  if (dir && !h.endsWith('/')) h += '/';
  return h;
}

function fileIdHeader(srv: Srv, id: number): string {
  return String(id).padStart(8, '0') + srv.store.state.instanceId;
}

// ---------- E2EE write enforcement ----------

function e2eeToken(ctx: Ctx): string | undefined {
  return header(ctx, 'e2e-token') || ctx.url.searchParams.get('e2e-token') || undefined;
}

/** UA + token checks for a write whose target (or its parent) is in an encrypted folder. */
function enforceToken(srv: Srv, ctx: Ctx, node: FileNode): void {
  if (!clientSupportsE2ee(ctx)) {
    fail(
      403,
      FORBIDDEN_NC,
      `Client "${header(ctx, 'user-agent') ?? ''}" is not allowed to access end-to-end encrypted content`,
    );
  }
  const token = e2eeToken(ctx);
  if (!token)
    fail(403, FORBIDDEN_NC, 'Write access to end-to-end encrypted folder requires token - no token sent');
  if (conflictingLock(srv.store, node, token) || !lockedByToken(srv.store, node, token)) {
    fail(
      423,
      'OCA\\DAV\\Connector\\Sabre\\Exception\\FileLocked',
      'Write access to end-to-end encrypted folder requires token - resource not locked or wrong token sent',
    );
  }
}

function reservedName(srv: Srv, name: string, creating: boolean): boolean {
  if (name.endsWith(SAVE_SUFFIX)) return true;
  if (name.endsWith(DELETE_SUFFIX)) return srv.flavour === 'main' || !creating;
  return false;
}

function rejectReserved(srv: Srv, name: string, creating: boolean): void {
  if (reservedName(srv, name, creating)) {
    fail(
      403,
      'Sabre\\DAV\\Exception\\Forbidden',
      `Not allowed to ${creating ? 'create' : 'delete'} file with reserved suffix!`,
    );
  }
}

function requirePerm(a: Access, perm: number): void {
  if ((a.perms & perm) === 0) fail(403, FORBIDDEN_NC, 'Operation not allowed by the share permissions');
}

// ---------- files ----------

async function files(srv: Srv, ctx: Ctx, view: View, path: string): Promise<void> {
  switch (ctx.method) {
    case 'PROPFIND':
      return propfind(srv, ctx, view, path);
    case 'GET':
    case 'HEAD':
      return get(srv, ctx, view, path);
    case 'PUT':
      return put(srv, ctx, view, path);
    case 'MKCOL':
      return mkcol(srv, ctx, view, path);
    case 'DELETE':
      return del(srv, ctx, view, path);
    case 'MOVE':
    case 'COPY':
      return moveCopy(srv, ctx, view, path, ctx.method === 'MOVE');
    case 'PROPPATCH':
      return proppatch(srv, ctx, view, path);
    default:
      fail(501, 'Sabre\\DAV\\Exception\\NotImplemented', `${ctx.method} is not implemented`);
  }
}

function notFound(path: string): never {
  fail(
    404,
    'Sabre\\DAV\\Exception\\NotFound',
    `File with name ${path.replace(/^\//, '')} could not be located`,
  );
}

function parentFor(srv: Srv, view: View, path: string): { parent: Access; name: string } {
  const { dir, name } = parentPath(path);
  if (!name) fail(405, 'Sabre\\DAV\\Exception\\MethodNotAllowed', 'Not allowed on the root');
  const parent = resolve(srv, view, dir);
  if (!parent || !parent.node.dir) fail(409, 'Sabre\\DAV\\Exception\\Conflict', 'Parent node does not exist');
  return { parent, name };
}

function get(srv: Srv, ctx: Ctx, view: View, path: string): void {
  const a = resolveRead(srv, view, path);
  if (!a) notFound(path);
  requirePerm(a, PERM_READ);
  if (a.node.dir)
    fail(501, 'Sabre\\DAV\\Exception\\NotImplemented', 'GET is only implemented on File objects');
  const data = srv.store.readBlob(a.node.id);
  const headers: Record<string, string> = {
    'Content-Type': a.node.mimetype,
    ETag: `"${a.node.etag}"`,
    'OC-ETag': `"${a.node.etag}"`,
    'OC-FileId': fileIdHeader(srv, a.node.id),
    'Last-Modified': new Date(a.node.mtime * 1000).toUTCString(),
    'Accept-Ranges': 'bytes',
  };
  const range = header(ctx, 'range');
  const m = range ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null;
  if (m && (m[1] || m[2])) {
    let start: number;
    let end: number;
    if (!m[1]) {
      const n = Number(m[2]);
      start = Math.max(0, data.length - n);
      end = data.length - 1;
    } else {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), data.length - 1) : data.length - 1;
    }
    if (start >= data.length || start > end) {
      send(ctx, 416, '', { 'Content-Range': `bytes */${data.length}` });
      return;
    }
    send(ctx, 206, data.subarray(start, end + 1), {
      ...headers,
      'Content-Range': `bytes ${start}-${end}/${data.length}`,
    });
    return;
  }
  send(ctx, 200, data, headers);
}

function applyMtime(srv: Srv, ctx: Ctx, n: FileNode, headers: Record<string, string>): void {
  const mt = header(ctx, 'x-oc-mtime');
  if (mt && /^\d+(\.\d+)?$/.test(mt)) {
    n.mtime = Math.floor(Number(mt));
    headers['X-OC-MTime'] = 'accepted';
    srv.store.markDirty();
  }
}

function put(srv: Srv, ctx: Ctx, view: View, path: string): void {
  const { parent, name } = parentFor(srv, view, path);
  const existing = srv.store.child(parent.node, name);
  const e2ee = view.guarded && parent.node.encrypted;
  if (e2ee) {
    enforceToken(srv, ctx, parent.node);
    rejectReserved(srv, name, true);
  }
  requirePerm(existing ? parent : parent, existing ? PERM_UPDATE : PERM_CREATE);
  if (existing?.dir)
    fail(405, 'Sabre\\DAV\\Exception\\MethodNotAllowed', 'A folder with this name already exists');
  let node: FileNode;
  let status: number;
  if (e2ee) {
    const stagedName = name + SAVE_SUFFIX;
    const staged = srv.store.child(parent.node, stagedName);
    if (staged?.dir) srv.store.remove(staged);
    node = staged && !staged.dir ? staged : srv.store.createChild(parent.node, stagedName, false);
    status = 201;
  } else if (existing) {
    node = existing;
    status = 204;
  } else if (view.kind === 'public' && !(parent.perms & PERM_READ)) {
    // file-drop share: never overwrite, add " (2)" style suffixes
    let n = name;
    for (let i = 2; srv.store.child(parent.node, n); i++) n = name.replace(/(\.[^.]*)?$/, ` (${i})$1`);
    node = srv.store.createChild(parent.node, n, false);
    status = 201;
  } else {
    node = srv.store.createChild(parent.node, name, false);
    status = 201;
  }
  srv.store.writeBlob(node.id, srv.adversary.rewriteUpload(path, ctx.body));
  srv.store.touch(node);
  const headers: Record<string, string> = {
    'OC-FileId': fileIdHeader(srv, node.id),
    ETag: `"${node.etag}"`,
    'OC-ETag': `"${node.etag}"`,
  };
  applyMtime(srv, ctx, node, headers);
  send(ctx, status, '', headers);
}

function mkcol(srv: Srv, ctx: Ctx, view: View, path: string): void {
  const { parent, name } = parentFor(srv, view, path);
  if (srv.store.child(parent.node, name)) {
    fail(405, 'Sabre\\DAV\\Exception\\MethodNotAllowed', 'The resource you tried to create already exists');
  }
  const e2ee = view.guarded && parent.node.encrypted;
  if (e2ee) {
    enforceToken(srv, ctx, parent.node);
    rejectReserved(srv, name, true);
  }
  requirePerm(parent, PERM_CREATE);
  let node: FileNode;
  if (e2ee) {
    const stagedName = name + SAVE_SUFFIX;
    const staged = srv.store.child(parent.node, stagedName);
    if (staged)
      fail(405, 'Sabre\\DAV\\Exception\\MethodNotAllowed', 'The resource you tried to create already exists');
    node = srv.store.createChild(parent.node, stagedName, true);
  } else node = srv.store.createChild(parent.node, name, true);
  send(ctx, 201, '', { 'OC-FileId': fileIdHeader(srv, node.id), ETag: `"${node.etag}"` });
}

function del(srv: Srv, ctx: Ctx, view: View, path: string): void {
  const a = resolve(srv, view, path);
  if (!a) notFound(path);
  if (a.node.parent === null || (view.kind === 'public' && a.node.id === view.share!.nodeId)) {
    fail(403, 'Sabre\\DAV\\Exception\\Forbidden', 'Cannot delete the root');
  }
  // a recipient deleting a share mount unshares it
  if (view.kind === 'user' && a.share && a.share.nodeId === a.node.id && a.node.owner !== view.uid) {
    delete srv.store.state.shares[String(a.share.id)];
    srv.store.markDirty();
    send(ctx, 204, '');
    return;
  }
  const e2ee = view.guarded && isE2eeNode(srv.store, a.node);
  const name = parentPath(path).name;
  if (e2ee) {
    enforceToken(srv, ctx, a.node);
    if (srv.flavour === 'main') rejectReserved(srv, name, false);
  }
  requirePerm(a, PERM_DELETE);
  if (e2ee) {
    const parent = srv.store.node(a.node.parent!)!;
    srv.store.move(a.node, parent, a.node.name + DELETE_SUFFIX);
  } else srv.store.remove(a.node);
  send(ctx, 204, '');
}

function destinationPath(ctx: Ctx, view: View): string {
  const d = header(ctx, 'destination');
  if (!d) fail(400, 'Sabre\\DAV\\Exception\\BadRequest', 'The destination header was not supplied');
  let pathname: string;
  try {
    pathname = new URL(d, 'http://127.0.0.1').pathname;
  } catch {
    fail(400, 'Sabre\\DAV\\Exception\\BadRequest', 'Invalid destination');
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    decoded = pathname;
  }
  const base = decodeURIComponent(view.base);
  if (decoded !== base && !decoded.startsWith(base + '/')) {
    fail(502, 'Sabre\\DAV\\Exception\\BadGateway', 'The destination node is not on this server');
  }
  return decoded.slice(base.length) || '/';
}

function moveCopy(srv: Srv, ctx: Ctx, view: View, path: string, isMove: boolean): void {
  const src = resolve(srv, view, path);
  if (!src) notFound(path);
  if (src.node.parent === null) fail(403, 'Sabre\\DAV\\Exception\\Forbidden', 'Cannot move the root');
  const dest = destinationPath(ctx, view);
  const { parent, name } = parentFor(srv, view, dest);
  if (src.node.dir && srv.store.isAncestorOrSelf(src.node, parent.node)) {
    fail(409, 'Sabre\\DAV\\Exception\\Conflict', 'Cannot move a folder into itself');
  }
  const existing = srv.store.child(parent.node, name);
  const srcE2ee = view.guarded && isE2eeNode(srv.store, src.node);
  const dstE2ee = view.guarded && (existing ? isE2eeNode(srv.store, existing) : parent.node.encrypted);
  if (srcE2ee !== dstE2ee) {
    fail(
      403,
      'Sabre\\DAV\\Exception\\Forbidden',
      'Cannot copy or move files from non-encrypted folders to end to end encrypted folders or vice versa.',
    );
  }
  if (srcE2ee) {
    enforceToken(srv, ctx, src.node);
    enforceToken(srv, ctx, existing ?? parent.node);
    if (srv.flavour === 'main') rejectReserved(srv, name, true);
    else if (name.endsWith(SAVE_SUFFIX)) rejectReserved(srv, name, true);
  }
  const overwrite = (header(ctx, 'overwrite') ?? 'T').toUpperCase() !== 'F';
  if (existing && !overwrite)
    fail(
      412,
      'Sabre\\DAV\\Exception\\PreconditionFailed',
      'The destination node already exists, and the overwrite header is set to false',
    );
  if (isMove) requirePerm(src, PERM_DELETE | PERM_UPDATE);
  requirePerm(parent, existing ? PERM_UPDATE : PERM_CREATE);
  const finalName = srcE2ee ? name + SAVE_SUFFIX : name;
  let node: FileNode;
  if (isMove) {
    srv.store.move(src.node, parent.node, finalName);
    node = src.node;
  } else node = srv.store.copy(src.node, parent.node, finalName);
  send(ctx, existing && !srcE2ee ? 204 : 201, '', {
    'OC-FileId': fileIdHeader(srv, node.id),
    ETag: `"${node.etag}"`,
  });
}

function proppatch(srv: Srv, ctx: Ctx, view: View, path: string): void {
  const a = resolve(srv, view, path);
  if (!a) notFound(path);
  // accept and ignore (favorites, tags); answer every requested property with 200
  const body = ctx.body.toString('utf8');
  const names: PropName[] = [];
  const re = /<(?:([\w.-]+):)?([\w.-]+)[^>]*?(?:\/>|>)/g;
  const inner = /<(?:[\w.-]+:)?prop>([\s\S]*?)<\/(?:[\w.-]+:)?prop>/.exec(body)?.[1] ?? '';
  for (let m = re.exec(inner); m; m = re.exec(inner)) {
    const pre = m[1] ?? '';
    const ns = pre === 'oc' ? NS_OC : pre === 'nc' ? NS_NC : NS_DAV;
    if (!names.some((n) => n.local === m![2])) names.push({ ns, local: m[2]! });
  }
  send(
    ctx,
    207,
    multistatus([
      { href: href(view, a.path, a.node.dir), found: names.map((n) => ({ name: n, xml: '' })), missing: [] },
    ]),
    {
      'Content-Type': 'application/xml; charset=utf-8',
    },
  );
}

// ---------- PROPFIND ----------

const ALLPROP: PropName[] = [
  'resourcetype',
  'getlastmodified',
  'getcontentlength',
  'getcontenttype',
  'getetag',
].map((local) => ({ ns: NS_DAV, local }));

const METADATA_PROPS = new Set(['e2ee-metadata', 'e2ee-metadata-signature']);

interface Item {
  access: Access;
  /** name to report (original name for staged deletes) */
  path: string;
}

function listChildren(srv: Srv, view: View, a: Access): Item[] {
  const out: Item[] = [];
  const kids =
    view.kind === 'user'
      ? viewChildren(srv, view.uid, a)
      : srv.store.children(a.node).map((c) => ({
          name: c.name,
          access: { node: c, share: a.share, perms: a.perms, path: joinPath(a.path, c.name) },
        }));
  for (const k of kids) {
    let name = k.name;
    const staged =
      view.guarded && (a.node.encrypted || k.access.node.encrypted) && a.node.id === k.access.node.parent;
    if (staged && name.endsWith(SAVE_SUFFIX)) continue;
    if (staged && name.endsWith(DELETE_SUFFIX)) {
      name = name.slice(0, -DELETE_SUFFIX.length);
      if (kids.some((x) => x.name === name)) continue;
    }
    out.push({ access: { ...k.access, path: joinPath(a.path, name) }, path: joinPath(a.path, name) });
  }
  return out;
}

/** DAV SEARCH (basicsearch): scope /files/<uid>/<path>, depth 0/1/infinity, where: is-collection or anything. */
async function search(srv: Srv, ctx: Ctx, uid: string): Promise<void> {
  const body = ctx.body.toString('utf8');
  const req = parsePropfind(body);
  const props = req.mode === 'allprop' ? ALLPROP : req.props;
  const scopeHref = /<(?:[\w.-]+:)?href>([^<]*)<\/(?:[\w.-]+:)?href>/.exec(body)?.[1] ?? '';
  const depthText = /<(?:[\w.-]+:)?depth>([^<]*)<\/(?:[\w.-]+:)?depth>/.exec(body)?.[1]?.trim() ?? 'infinity';
  const where = /<(?:[\w.-]+:)?where>([\s\S]*)<\/(?:[\w.-]+:)?where>/.exec(body)?.[1] ?? '';
  const onlyCollections = /is-collection/.test(where);
  const sm = /^\/files\/([^/]+)(\/.*)?$/.exec(decodeURIComponent(scopeHref.trim()));
  if (!sm || sm[1] !== uid) fail(400, 'Sabre\\DAV\\Exception\\BadRequest', 'Invalid search scope');
  const view: View = {
    kind: 'user',
    uid,
    base: `/remote.php/dav/files/${encodeURIComponent(uid)}`,
    guarded: true,
  };
  const root = resolve(srv, view, sm[2] ?? '/');
  if (!root) notFound(sm[2] ?? '/');
  const maxDepth = depthText === 'infinity' ? Infinity : Number(depthText) || 0;
  const items: Item[] = [];
  const walk = (a: Access, d: number): void => {
    if (!a.node.dir || d >= maxDepth) return;
    for (const c of listChildren(srv, view, a)) {
      if (!onlyCollections || c.access.node.dir) items.push(c);
      walk(c.access, d + 1);
    }
  };
  walk(root, 0);
  const e2eeClient = clientSupportsE2ee(ctx);
  const out: { href: string; found: PropValue[]; missing: PropName[] }[] = [];
  for (const it of items) {
    const found: PropValue[] = [];
    const missing: PropName[] = [];
    for (const p of props) {
      const v = await propValue(srv, view, it.access, p, e2eeClient, false);
      if (v === undefined) missing.push(p);
      else found.push({ name: p, xml: v });
    }
    out.push({ href: href(view, it.path, it.access.node.dir), found, missing });
  }
  send(ctx, 207, multistatus(out), { 'Content-Type': 'application/xml; charset=utf-8' });
}

async function propfind(srv: Srv, ctx: Ctx, view: View, path: string): Promise<void> {
  const target = resolveRead(srv, view, path);
  if (!target) notFound(path);
  if (view.kind === 'public' && !(target.perms & PERM_READ)) notFound(path);
  const e2eeClient = clientSupportsE2ee(ctx);
  if (view.guarded && target.node.dir && target.node.encrypted && !e2eeClient) {
    fail(
      403,
      FORBIDDEN_NC,
      `Client "${header(ctx, 'user-agent') ?? ''}" is not allowed to access end-to-end encrypted content`,
    );
  }
  const req = parsePropfind(ctx.body.toString('utf8'));
  const props = req.mode === 'allprop' ? ALLPROP : req.props;
  const depth = (header(ctx, 'depth') ?? '1').toLowerCase();
  const items: Item[] = [{ access: target, path: target.path }];
  if (target.node.dir && depth !== '0') items.push(...listChildren(srv, view, target));
  const wantsMetadata = props.some((p) => p.ns === NS_NC && METADATA_PROPS.has(p.local));
  if (wantsMetadata) {
    for (const it of items) {
      const n = it.access.node;
      if (n.dir && n.encrypted && !srv.store.peekE2ee(n.id)?.committed) {
        fail(500, 'OCP\\Files\\NotFoundException', `/appdata/end_to_end_encryption/meta-data/${n.id}`);
      }
    }
  }
  const out: { href: string; found: PropValue[]; missing: PropName[] }[] = [];
  for (const it of items) {
    const found: PropValue[] = [];
    const missing: PropName[] = [];
    for (const p of props) {
      const v = await propValue(srv, view, it.access, p, e2eeClient, req.mode === 'allprop');
      if (v === undefined) missing.push(p);
      else found.push({ name: p, xml: v });
    }
    out.push({
      href: href(view, it.path, it.access.node.dir),
      found,
      missing: req.mode === 'allprop' ? [] : missing,
    });
  }
  send(ctx, 207, multistatus(out), { 'Content-Type': 'application/xml; charset=utf-8' });
}

async function propValue(
  srv: Srv,
  view: View,
  a: Access,
  p: PropName,
  e2eeClient: boolean,
  _allprop: boolean,
): Promise<string | undefined> {
  const n = a.node;
  const name = splitPath(a.path).pop() ?? '';
  if (p.ns === NS_DAV) {
    switch (p.local) {
      case 'resourcetype':
        return n.dir ? '<d:collection/>' : '';
      case 'displayname':
        return xmlText(name);
      case 'getcontentlength':
        return n.dir ? undefined : String(n.size);
      case 'getcontenttype':
        return n.dir ? undefined : xmlText(n.mimetype);
      case 'getlastmodified':
        return new Date(n.mtime * 1000).toUTCString();
      case 'getetag':
        return `"${n.etag}"`;
      case 'quota-used-bytes':
        return n.dir ? String(srv.store.recomputeSize(n)) : undefined;
      case 'quota-available-bytes':
        return n.dir ? '-3' : undefined;
      default:
        return undefined;
    }
  }
  if (p.ns === NS_OC) {
    switch (p.local) {
      case 'fileid':
        return String(n.id);
      case 'id':
        return fileIdHeader(srv, n.id);
      case 'permissions':
        if (view.guarded && n.dir && n.encrypted && !e2eeClient) return '';
        return davPermissions(a);
      case 'size':
        return String(srv.store.recomputeSize(n));
      case 'owner-id':
        return xmlText(n.owner);
      case 'owner-display-name':
        return xmlText(srv.store.state.users[n.owner]?.displayName ?? n.owner);
      case 'favorite':
        return '0';
      case 'share-types': {
        const types = [
          ...new Set(
            Object.values(srv.store.state.shares)
              .filter((s) => s.nodeId === n.id)
              .map((s) => s.type),
          ),
        ];
        return types.map((t) => `<oc:share-type>${t}</oc:share-type>`).join('');
      }
      default:
        return undefined;
    }
  }
  if (p.ns === NS_NC) {
    switch (p.local) {
      case 'is-encrypted':
        return n.dir ? (n.encrypted ? '1' : '0') : undefined;
      case 'e2ee-is-encrypted':
        return isE2eeNode(srv.store, n) ? '1' : '0';
      case 'e2ee-metadata':
      case 'e2ee-metadata-signature': {
        if (!n.dir || !n.encrypted) return undefined;
        const f = srv.store.peekE2ee(n.id);
        const doc = await srv.adversary.served(n.id, f?.committed, f?.history ?? []);
        if (!doc) return undefined;
        return xmlText(p.local === 'e2ee-metadata' ? doc.text : doc.signature);
      }
      case 'has-preview':
        return 'false';
      case 'mount-type':
        return a.share && view.kind === 'user' ? 'shared' : '';
      case 'is-mount-root':
        return a.share && a.share.nodeId === n.id ? 'true' : 'false';
      case 'creation_time':
        return '0';
      case 'upload_time':
        return String(n.mtime);
      case 'hidden':
        return 'false';
      default:
        return undefined;
    }
  }
  return undefined;
}

// ---------- chunked upload v2 ----------

async function uploads(
  srv: Srv,
  ctx: Ctx,
  uid: string,
  uploadId: string,
  chunk: string | undefined,
): Promise<void> {
  const key = `${uid}/${uploadId}`;
  const up = srv.uploads.get(key);
  if (!chunk && ctx.method === 'MKCOL') {
    if (up)
      fail(405, 'Sabre\\DAV\\Exception\\MethodNotAllowed', 'The resource you tried to create already exists');
    srv.uploads.set(key, { destination: header(ctx, 'destination'), chunks: new Map() });
    send(ctx, 201, '');
    return;
  }
  if (!up) fail(404, 'Sabre\\DAV\\Exception\\NotFound', 'Upload not found');
  if (!chunk && ctx.method === 'DELETE') {
    srv.uploads.delete(key);
    send(ctx, 204, '');
    return;
  }
  if (chunk && chunk !== '.file' && ctx.method === 'PUT') {
    up.chunks.set(chunk, Buffer.from(ctx.body));
    send(ctx, 201, '');
    return;
  }
  if (chunk === '.file' && ctx.method === 'MOVE') {
    const view: View = {
      kind: 'user',
      uid,
      base: `/remote.php/dav/files/${encodeURIComponent(uid)}`,
      guarded: true,
    };
    const dest = destinationPath(ctx, view);
    const { parent, name } = parentFor(srv, view, dest);
    const existing = srv.store.child(parent.node, name);
    if (srv.flavour === 'main' && parent.node.encrypted) enforceToken(srv, ctx, parent.node);
    requirePerm(parent, existing ? PERM_UPDATE : PERM_CREATE);
    const names = [...up.chunks.keys()].sort((a, b) => {
      const na = Number(a);
      const nb = Number(b);
      return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a.localeCompare(b);
    });
    const data = Buffer.concat(names.map((n) => up.chunks.get(n)!));
    if (existing?.dir) fail(409, 'Sabre\\DAV\\Exception\\Conflict', 'A folder with this name exists');
    const node = existing ?? srv.store.createChild(parent.node, name, false);
    srv.store.writeBlob(node.id, data);
    srv.store.touch(node);
    srv.uploads.delete(key);
    const headers: Record<string, string> = {
      'OC-FileId': fileIdHeader(srv, node.id),
      ETag: `"${node.etag}"`,
      'OC-ETag': `"${node.etag}"`,
    };
    applyMtime(srv, ctx, node, headers);
    send(ctx, existing ? 204 : 201, '', headers);
    return;
  }
  fail(405, 'Sabre\\DAV\\Exception\\MethodNotAllowed', `${ctx.method} not allowed here`);
}
