/** OCS files_sharing API: user shares (type 0), link shares (type 3), shared_with_me, sharees search. */
import { randomAlnum } from './auth';
import type { Srv } from './context';
import { param, type Ctx } from './http';
import { ocs401, ocsOk, ocsThrown } from './ocs';
import type { ShareRec } from './storage';
import { receivedShares, resolvePath, PERM_ALL, PERM_CREATE, PERM_READ } from './view';

export async function handleSharing(srv: Srv, ctx: Ctx, rest: string): Promise<boolean> {
  if (!ctx.user) {
    ocs401(ctx);
    return true;
  }
  const uid = ctx.user;
  if (rest === '/sharees' && ctx.method === 'GET') {
    sharees(srv, ctx, uid);
    return true;
  }
  if (rest === '/shares' && ctx.method === 'GET') {
    listShares(srv, ctx, uid);
    return true;
  }
  if (rest === '/shares' && ctx.method === 'POST') {
    createShare(srv, ctx, uid);
    return true;
  }
  const m = /^\/shares\/(\d+)$/.exec(rest);
  if (m) {
    const s = srv.store.state.shares[m[1]!];
    const visible = s && (s.owner === uid || s.shareWith === uid);
    if (!s || !visible) {
      ocsThrown(ctx, 404, 'Wrong share ID, share does not exist');
      return true;
    }
    if (ctx.method === 'GET') ocsOk(ctx, [shareJson(srv, s, uid)]);
    else if (ctx.method === 'PUT') updateShare(srv, ctx, uid, s);
    else if (ctx.method === 'DELETE') {
      deleteShare(srv, s);
      ocsOk(ctx, []);
    } else return false;
    return true;
  }
  return false;
}

export function deleteShare(srv: Srv, s: ShareRec): void {
  delete srv.store.state.shares[String(s.id)];
  if (s.type === 3 && s.token && srv.flavour === 'main') {
    delete srv.store.state.publicKeys['s:' + s.token];
    delete srv.store.state.privateKeys['s:' + s.token];
  }
  srv.store.markDirty();
}

function displayName(srv: Srv, uid: string): string {
  return srv.store.state.users[uid]?.displayName ?? uid;
}

function shareJson(srv: Srv, s: ShareRec, viewer: string): Record<string, unknown> {
  const node = srv.store.node(s.nodeId);
  const ownerPath = node ? srv.store.pathOf(node) : '/';
  const path = viewer === s.owner ? ownerPath : (s.fileTarget ?? ownerPath);
  const parent = node?.parent ?? null;
  return {
    id: String(s.id),
    share_type: s.type,
    uid_owner: s.owner,
    displayname_owner: displayName(srv, s.owner),
    permissions: s.permissions,
    can_edit: viewer === s.owner,
    can_delete: true,
    stime: s.stime,
    parent: null,
    expiration: s.expiration,
    token: s.token ?? null,
    uid_file_owner: s.owner,
    note: s.note,
    label: s.label,
    displayname_file_owner: displayName(srv, s.owner),
    path,
    item_type: node?.dir ? 'folder' : 'file',
    item_permissions: s.permissions,
    mimetype: node?.mimetype ?? 'httpd/unix-directory',
    has_preview: false,
    storage_id: `home::${s.owner}`,
    storage: 1,
    item_source: s.nodeId,
    file_source: s.nodeId,
    file_parent: parent,
    file_target: s.type === 0 ? (s.fileTarget ?? ownerPath) : ownerPath,
    item_size: node ? srv.store.recomputeSize(node) : 0,
    item_mtime: node?.mtime ?? 0,
    share_with: s.type === 0 ? (s.shareWith ?? null) : s.password ? '***redacted***' : null,
    share_with_displayname: s.type === 0 && s.shareWith ? displayName(srv, s.shareWith) : '',
    password: s.password ? '***redacted***' : undefined,
    send_password_by_talk: false,
    url: s.type === 3 ? `${srv.url}/index.php/s/${s.token}` : undefined,
    mail_send: 0,
    hide_download: s.hideDownload ? 1 : 0,
    attributes: null,
  };
}

function listShares(srv: Srv, ctx: Ctx, uid: string): void {
  const all = Object.values(srv.store.state.shares).filter((s) => srv.store.node(s.nodeId));
  if (param(ctx, 'shared_with_me') === 'true') {
    ocsOk(
      ctx,
      receivedShares(srv, uid).map((s) => shareJson(srv, s, uid)),
    );
    return;
  }
  let mine = all.filter((s) => s.owner === uid);
  const path = param(ctx, 'path');
  if (path) {
    const a = resolvePath(srv, uid, path);
    if (!a) return ocsThrown(ctx, 404, 'Wrong path, file/folder does not exist');
    if (param(ctx, 'subfiles') === 'true')
      mine = mine.filter((s) => srv.store.node(s.nodeId)?.parent === a.node.id);
    else mine = mine.filter((s) => s.nodeId === a.node.id);
  }
  ocsOk(
    ctx,
    mine.map((s) => shareJson(srv, s, uid)),
  );
}

function parsePermissions(raw: string | undefined, fallback: number): number | undefined {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > PERM_ALL) return undefined;
  return n;
}

function uniqueTarget(srv: Srv, uid: string, name: string): string {
  const home = srv.store.homeOf(uid)!;
  const taken = (t: string): boolean =>
    !!srv.store.child(home, t.slice(1)) || receivedShares(srv, uid).some((s) => s.fileTarget === t);
  let t = '/' + name;
  for (let i = 2; taken(t); i++) t = `/${name} (${i})`;
  return t;
}

function createShare(srv: Srv, ctx: Ctx, uid: string): void {
  const path = param(ctx, 'path');
  if (!path) return ocsThrown(ctx, 404, 'Please specify a file or folder path');
  const a = resolvePath(srv, uid, path);
  if (!a) return ocsThrown(ctx, 404, 'Wrong path, file/folder does not exist');
  if (a.node.parent === null) return ocsThrown(ctx, 403, 'You cannot share your root folder');
  if (a.share && a.node.owner !== uid)
    return ocsThrown(ctx, 403, 'Resharing is not supported by this stand-in');
  const type = Number(param(ctx, 'shareType'));
  const now = Math.floor(Date.now() / 1000);
  if (type === 0) {
    const to = param(ctx, 'shareWith') ?? '';
    if (!srv.store.state.users[to]) return ocsThrown(ctx, 404, 'Please specify a valid user');
    if (to === uid) return ocsThrown(ctx, 403, 'Sharing with yourself is not allowed');
    if (
      Object.values(srv.store.state.shares).some(
        (s) => s.type === 0 && s.nodeId === a.node.id && s.shareWith === to,
      )
    ) {
      return ocsThrown(ctx, 403, `Path is already shared with ${to}`);
    }
    const perms = parsePermissions(param(ctx, 'permissions'), a.node.dir ? PERM_ALL : 19);
    if (perms === undefined) return ocsThrown(ctx, 400, 'Invalid permissions');
    const s: ShareRec = {
      id: srv.store.state.nextShareId++,
      type: 0,
      owner: uid,
      nodeId: a.node.id,
      shareWith: to,
      permissions: a.node.dir ? perms : perms & ~PERM_CREATE,
      stime: now,
      fileTarget: uniqueTarget(srv, to, a.node.name),
      label: '',
      note: param(ctx, 'note') ?? '',
      expiration: param(ctx, 'expireDate') || null,
      hideDownload: false,
    };
    srv.store.state.shares[String(s.id)] = s;
    srv.store.markDirty();
    return ocsOk(ctx, shareJson(srv, s, uid));
  }
  if (type === 3) {
    let perms = parsePermissions(param(ctx, 'permissions'), PERM_READ);
    if (perms === undefined) return ocsThrown(ctx, 400, 'Invalid permissions');
    if (param(ctx, 'publicUpload') === 'true') perms = 15;
    const s: ShareRec = {
      id: srv.store.state.nextShareId++,
      type: 3,
      owner: uid,
      nodeId: a.node.id,
      token: randomAlnum(15),
      permissions: perms,
      stime: now,
      password: param(ctx, 'password') || undefined,
      label: param(ctx, 'label') ?? '',
      note: param(ctx, 'note') ?? '',
      expiration: param(ctx, 'expireDate') || null,
      hideDownload: param(ctx, 'hideDownload') === 'true',
    };
    srv.store.state.shares[String(s.id)] = s;
    srv.store.markDirty();
    return ocsOk(ctx, shareJson(srv, s, uid));
  }
  ocsThrown(ctx, 400, 'Unknown share type');
}

function updateShare(srv: Srv, ctx: Ctx, uid: string, s: ShareRec): void {
  if (s.owner !== uid) return ocsThrown(ctx, 403, 'Wrong share ID, share does not exist');
  const p = param(ctx, 'permissions');
  if (p !== undefined) {
    const perms = parsePermissions(p, s.permissions);
    if (perms === undefined) return ocsThrown(ctx, 400, 'Invalid permissions');
    s.permissions = perms;
  }
  if (param(ctx, 'publicUpload') !== undefined && s.type === 3) {
    s.permissions = param(ctx, 'publicUpload') === 'true' ? 15 : PERM_READ;
  }
  const pw = param(ctx, 'password');
  if (pw !== undefined) s.password = pw || undefined;
  const label = param(ctx, 'label');
  if (label !== undefined) s.label = label;
  const note = param(ctx, 'note');
  if (note !== undefined) s.note = note;
  const exp = param(ctx, 'expireDate');
  if (exp !== undefined) s.expiration = exp || null;
  const hd = param(ctx, 'hideDownload');
  if (hd !== undefined) s.hideDownload = hd === 'true';
  srv.store.markDirty();
  ocsOk(ctx, shareJson(srv, s, uid));
}

function sharees(srv: Srv, ctx: Ctx, uid: string): void {
  const q = (param(ctx, 'search') ?? '').toLowerCase();
  const users = Object.values(srv.store.state.users).filter((u) => u.id !== uid);
  const entry = (u: { id: string; displayName: string; email: string }): Record<string, unknown> => ({
    label: u.displayName,
    subline: '',
    icon: 'icon-user',
    value: { shareType: 0, shareWith: u.id },
    shareWithDisplayNameUnique: u.email || u.id,
    status: [],
  });
  const exact = users.filter((u) => u.id.toLowerCase() === q || u.displayName.toLowerCase() === q);
  const partial = users.filter(
    (u) => !exact.includes(u) && (u.id.toLowerCase().includes(q) || u.displayName.toLowerCase().includes(q)),
  );
  ocsOk(ctx, {
    exact: {
      users: exact.map(entry),
      groups: [],
      remotes: [],
      remote_groups: [],
      emails: [],
      circles: [],
      rooms: [],
      deck: [],
      lookup: [],
    },
    users: partial.map(entry),
    groups: [],
    remotes: [],
    remote_groups: [],
    emails: [],
    lookup: [],
    circles: [],
    rooms: [],
    deck: [],
    lookupEnabled: false,
  });
}
