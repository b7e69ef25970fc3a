/** The end_to_end_encryption OCS API (protocol.md §4 + Appendix A; nc31 differences per flavour). */
import type { Srv } from './context';
import { certificateCommonNames, issueCertificate, readCsr } from './certs';
import { header, param, rawParam, type Ctx } from './http';
import {
  addTouched,
  anyLock,
  conflictingLock,
  endCycle,
  finaliseFolder,
  inEncryptedTree,
  lockedByToken,
  newLockToken,
} from './locks';
import { ocs401, ocs500, ocsDataError, ocsEmptyError, ocsOk, ocsSend, ocsThrown } from './ocs';
import { mergeFiledrop, phpDecode, PhpNumber, PhpObject, phpToJs } from './phpjson';
import type { FileNode, ShareRec } from './storage';
import { clientSupportsE2ee, uaMessage } from './ua';
import { accessById, insideShare, linkShare, PERM_CREATE, PERM_READ, PERM_UPDATE, type Access } from './view';

type Handler = (srv: Srv, ctx: Ctx, v: 1 | 2, id: number) => Promise<void> | void;

const NOT_LOGGED_IN = Symbol('nli');

export async function handleE2ee(srv: Srv, ctx: Ctx, v: 1 | 2, rest: string): Promise<void> {
  const m =
    /^\/(public-key|private-key|server-key|encrypted-files|encrypted|meta-data|lock)(?:\/(\d+))?(\/filedrop)?\/?$/.exec(
      rest,
    );
  if (!m) return ocsSend(ctx, 404, { status: 'failure', statuscode: 998, message: 'Invalid query' }, []);
  const [, what, idText, filedrop] = m;
  const id = idText ? Number(idText) : NaN;
  const key = `${ctx.method} ${what}${filedrop ? '/filedrop' : ''}`;
  const h = ROUTES[key];
  if (!h || (['encrypted', 'meta-data', 'lock'].includes(what!) && !idText)) {
    return ocsSend(ctx, 405, { status: 'failure', statuscode: 405, message: 'Method not allowed' }, []);
  }
  await h(srv, ctx, v, id);
}

// ---------- shared checks ----------

function uaOk(ctx: Ctx): boolean {
  if (clientSupportsE2ee(ctx)) return true;
  ocsThrown(ctx, 403, uaMessage(ctx));
  return false;
}

function needLogin(ctx: Ctx): boolean {
  if (ctx.user) return true;
  ocs401(ctx);
  return false;
}

function isMain(srv: Srv): boolean {
  return srv.flavour === 'main';
}

/** strict password confirmation: session-cookie requests need Basic with the login password (observed). */
function passwordConfirmed(ctx: Ctx): boolean {
  if (ctx.authKind !== 'session') return true;
  ocsThrown(ctx, 403, 'Password confirmation is required');
  return false;
}

/** Share token sent as the E2EE share-token header (main) or as `shareToken` parameter (nc31). */
function shareTokenOf(srv: Srv, ctx: Ctx): string | undefined {
  if (isMain(srv)) return header(ctx, 'x-nc-e2ee-share-token') || undefined;
  return param(ctx, 'shareToken') || undefined;
}

/**
 * Resolve folder access for the caller: via a link-share token (folder must be in the share, owner's view,
 * share permissions) or the logged-in user's view. Returns undefined + answers when it fails.
 */
function folderAccess(
  srv: Srv,
  ctx: Ctx,
  id: number,
  onMissing: () => void,
  onForbidden: () => void,
  allowToken = true,
): Access | typeof NOT_LOGGED_IN | undefined {
  const token = allowToken ? shareTokenOf(srv, ctx) : undefined;
  if (token) {
    const s = linkShare(srv, token);
    const node = srv.store.node(id);
    if (!s || !node) return (onMissing(), undefined);
    if (!insideShare(srv, s, node)) return (onForbidden(), undefined);
    return { node, share: s, perms: s.permissions, path: srv.store.pathOf(node) };
  }
  if (!ctx.user) return NOT_LOGGED_IN;
  const a = accessById(srv, ctx.user, id);
  if (!a) return (onMissing(), undefined);
  return a;
}

function canWrite(srv: Srv, a: Access): boolean {
  return !isMain(srv) || (a.perms & PERM_UPDATE) !== 0;
}

function isHomeRoot(n: FileNode): boolean {
  return n.parent === null;
}

// ---------- keys ----------

async function getPublicKey(srv: Srv, ctx: Ctx): Promise<void> {
  if (!uaOk(ctx)) return;
  if (!ctx.user && !isMain(srv)) return ocs401(ctx);
  const usersParam = ctx.url.searchParams.get('users');
  let ids: string[] = [];
  if (usersParam !== null && usersParam !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(usersParam);
    } catch {
      return ocsThrown(ctx, 400, 'Cannot decode userlist');
    }
    if (!Array.isArray(parsed)) return ocs500(ctx);
    ids = parsed.map((x) => String(x));
  }
  if (ctx.user && !ids.includes(ctx.user)) ids.push(ctx.user);
  const out: Record<string, string> = {};
  for (const uid of ids) {
    const forged = srv.adversary.forgedCerts.get(uid);
    const pem = forged ?? srv.store.state.publicKeys[uid];
    if (!pem) return ocsThrown(ctx, 404, `Could not find the public key belonging to the user ${uid}`);
    out[uid] = pem;
  }
  ocsOk(ctx, { 'public-keys': out });
}

/** For share-token key operations (main only): the link share owned by the caller. */
function ownedLinkShare(srv: Srv, ctx: Ctx, token: string): ShareRec | undefined {
  const s = linkShare(srv, token);
  return s && s.owner === ctx.user ? s : undefined;
}

async function postPublicKey(srv: Srv, ctx: Ctx): Promise<void> {
  if (!uaOk(ctx) || !needLogin(ctx)) return;
  const csrText = param(ctx, 'csr');
  if (csrText === undefined) return ocs500(ctx);
  const shareToken = isMain(srv) ? param(ctx, 'shareToken') || undefined : undefined;
  let keyId = ctx.user!;
  if (shareToken) {
    if (!ownedLinkShare(srv, ctx, shareToken))
      return ocsThrown(ctx, 403, 'You are not allowed to create a public key for this share');
    keyId = 's:' + shareToken;
  }
  if (srv.store.state.publicKeys[keyId]) return ocsEmptyError(ctx, 409);
  const csr = await readCsr(csrText);
  if (!csr.ok) return ocsThrown(ctx, 400, 'could not sign the CSR, please make sure to submit a valid CSR');
  if (csr.commonNames.length !== 1 || csr.commonNames[0] !== keyId) {
    return ocsThrown(
      ctx,
      403,
      shareToken
        ? 'Common name (CN) does not match the share token'
        : 'Common name (CN) does not match the current user',
    );
  }
  const cert = await issueCertificate(csr, srv.keys, srv.certHash);
  srv.store.state.publicKeys[keyId] = cert;
  srv.store.markDirty();
  ocsOk(ctx, { 'public-key': cert });
}

function putPublicKey(srv: Srv, ctx: Ctx): void {
  if (!uaOk(ctx) || !needLogin(ctx)) return;
  const uid = ctx.user!;
  if (srv.store.state.publicKeys[uid]) return ocsEmptyError(ctx, 409);
  const text = param(ctx, 'publicKey') ?? '';
  if (isMain(srv)) {
    const cns = certificateCommonNames(text);
    if (!cns) return ocsThrown(ctx, 400, 'Could not store public key: not a certificate');
    if (cns.length !== 1 || cns[0] !== uid)
      return ocsThrown(ctx, 400, 'Common name (CN) does not match the current user');
  }
  srv.store.state.publicKeys[uid] = text;
  srv.store.markDirty();
  ocsOk(ctx, { 'public-key': text });
}

function keyIdForDelete(srv: Srv, ctx: Ctx): string | undefined {
  const shareToken = isMain(srv) ? param(ctx, 'shareToken') || undefined : undefined;
  if (!shareToken) return ctx.user!;
  if (!ownedLinkShare(srv, ctx, shareToken)) {
    ocsThrown(ctx, 403, 'You are not allowed to delete this key');
    return undefined;
  }
  return 's:' + shareToken;
}

function deletePublicKey(srv: Srv, ctx: Ctx): void {
  if (!needLogin(ctx) || !passwordConfirmed(ctx)) return;
  const keyId = keyIdForDelete(srv, ctx);
  if (!keyId) return;
  delete srv.store.state.publicKeys[keyId];
  srv.store.markDirty();
  ocsOk(ctx, []);
}

function getPrivateKey(srv: Srv, ctx: Ctx): void {
  if (!uaOk(ctx)) return;
  const token = isMain(srv) ? header(ctx, 'x-nc-e2ee-share-token') || undefined : undefined;
  let keyId: string;
  if (token) {
    if (!linkShare(srv, token)) return ocsDataError(ctx, 404, 'Could not find the private key');
    keyId = 's:' + token;
  } else if (ctx.user) keyId = ctx.user;
  else if (isMain(srv)) return ocsThrown(ctx, 403, 'Not allowed');
  else return ocs401(ctx);
  const blob = srv.store.state.privateKeys[keyId];
  if (blob === undefined) return ocsDataError(ctx, 404, 'Could not find the private key');
  ocsOk(ctx, { 'private-key': blob });
}

function isB64(s: string): boolean {
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

export function validPrivateKeyFormat(blob: string): boolean {
  const parts = blob.split('|');
  if (parts.length !== 3) return false;
  const [ct, iv, salt] = parts as [string, string, string];
  if (!ct || !isB64(ct) || !isB64(iv) || !isB64(salt)) return false;
  return Buffer.from(iv, 'base64').length === 12 && Buffer.from(salt, 'base64').length === 40;
}

function postPrivateKey(srv: Srv, ctx: Ctx): void {
  if (!uaOk(ctx) || !needLogin(ctx)) return;
  const blob = param(ctx, 'privateKey') ?? '';
  const shareToken = isMain(srv) ? param(ctx, 'shareToken') || undefined : undefined;
  let keyId = ctx.user!;
  if (shareToken) {
    if (!ownedLinkShare(srv, ctx, shareToken)) return ocsThrown(ctx, 400, 'Internal error');
    keyId = 's:' + shareToken;
  }
  if (srv.store.state.privateKeys[keyId] !== undefined) return ocsEmptyError(ctx, 409);
  if (isMain(srv) && !validPrivateKeyFormat(blob)) return ocsThrown(ctx, 400, 'Invalid private key format');
  srv.store.state.privateKeys[keyId] = blob;
  srv.store.markDirty();
  ocsOk(ctx, { 'private-key': blob });
}

function deletePrivateKey(srv: Srv, ctx: Ctx): void {
  if (!needLogin(ctx) || !passwordConfirmed(ctx)) return;
  const keyId = keyIdForDelete(srv, ctx);
  if (!keyId) return;
  delete srv.store.state.privateKeys[keyId];
  srv.store.markDirty();
  ocsOk(ctx, []);
}

function getServerKey(srv: Srv, ctx: Ctx): void {
  if (!uaOk(ctx)) return;
  if (!ctx.user) {
    if (!isMain(srv)) return ocs401(ctx);
    const ip = ctx.req.socket.remoteAddress ?? '?';
    const now = Date.now();
    const list = (srv.anonServerKey.get(ip) ?? []).filter((t) => now - t < 600_000);
    list.push(now);
    srv.anonServerKey.set(ip, list);
    if (list.length > 6) {
      return ocsSend(ctx, 429, { status: 'failure', statuscode: 429, message: 'Reached maximum delay' }, [], {
        'Retry-After': '600',
      });
    }
  }
  ocsOk(ctx, { 'public-key': srv.adversary.serverKeyPem ?? srv.keys.spkiPem });
}

// ---------- encryption flag ----------

function putEncrypted(srv: Srv, ctx: Ctx, _v: 1 | 2, id: number): void {
  if (!uaOk(ctx)) return;
  const notFound = (): void => ocsDataError(ctx, 404, 'Folder not found');
  const a = folderAccess(srv, ctx, id, notFound, () => ocsThrown(ctx, 403, 'Not allowed'), isMain(srv));
  if (a === NOT_LOGGED_IN) return ocs401(ctx);
  if (!a) return;
  const n = a.node;
  if (!n.dir || srv.store.children(n).length > 0) return notFound();
  if (a.share && a.share.type === 0) {
    if (!isMain(srv)) return ocsOk(ctx, []); // nc31: answers 200 but flags nothing for sharees
    if (!(a.perms & PERM_UPDATE)) return ocsThrown(ctx, 403, 'Not allowed');
  }
  const userShared = Object.values(srv.store.state.shares).some((s) => s.nodeId === n.id && s.type === 0);
  if (!a.share && userShared) return notFound();
  n.encrypted = true;
  srv.store.touch(n, n.mtime);
  ocsOk(ctx, []);
}

function deleteEncrypted(srv: Srv, ctx: Ctx, _v: 1 | 2, id: number): void {
  if (!uaOk(ctx) || !needLogin(ctx)) return;
  const a = accessById(srv, ctx.user!, id);
  if (!a || !a.node.dir) return ocsDataError(ctx, 404, 'Folder not found');
  if (srv.store.children(a.node).length > 0) return ocsThrown(ctx, 404, `Folder with ID ${id} not empty`);
  a.node.encrypted = false;
  delete srv.store.state.e2ee[String(id)];
  srv.store.touch(a.node, a.node.mtime);
  ocsOk(ctx, []);
}

function deleteEncryptedFiles(srv: Srv, ctx: Ctx): void {
  if (!needLogin(ctx) || !passwordConfirmed(ctx)) return;
  const home = srv.store.homeOf(ctx.user!);
  const ids: number[] = [];
  const flagged = (n: FileNode): number[] => [
    ...(n.dir && n.encrypted ? [n.id] : []),
    ...srv.store.children(n).flatMap(flagged),
  ];
  const walk = (n: FileNode): void => {
    for (const c of srv.store.children(n)) {
      if (c.dir && c.encrypted) {
        ids.push(...flagged(c));
        srv.store.remove(c, true);
      } else if (c.dir) walk(c);
    }
  };
  if (home) walk(home);
  ocsOk(ctx, { deletedIds: ids });
}

// ---------- metadata ----------

function metaNotFound(ctx: Ctx, id: number): void {
  ocsThrown(ctx, 404, `Could not find metadata for "${id}"`);
}

async function getMetadata(srv: Srv, ctx: Ctx, v: 1 | 2, id: number): Promise<void> {
  if (!uaOk(ctx)) return;
  const a = folderAccess(
    srv,
    ctx,
    id,
    () => metaNotFound(ctx, id),
    () => ocsThrown(ctx, 403, 'Not allowed'),
  );
  if (a === NOT_LOGGED_IN) return ocs401(ctx);
  if (!a) return;
  if (isMain(srv) && !(a.perms & PERM_READ)) return ocsThrown(ctx, 403, 'Not allowed');
  const f = srv.store.peekE2ee(id);
  if (v === 1 && !v1VersionOk(ctx, f?.committed?.text)) return;
  const doc = await srv.adversary.served(id, f?.committed, f?.history ?? []);
  if (!doc) return metaNotFound(ctx, id);
  if (v === 1) return ocsOk(ctx, { 'meta-data': doc.text });
  ocsOk(ctx, { 'meta-data': doc.text }, { 'X-NC-E2EE-SIGNATURE': doc.signature });
}

/** v1 middleware: only 1.x documents (metadata.version literally 1, 1.2 or "1.2"). */
function v1VersionOk(ctx: Ctx, text: string | undefined): boolean {
  if (text === undefined) return true; // the handler answers 404
  let ok = false;
  try {
    const doc = phpDecode(text);
    const md = doc instanceof PhpObject ? doc.entries.get('metadata') : undefined;
    const ver = md instanceof PhpObject ? md.entries.get('version') : undefined;
    ok = (ver instanceof PhpNumber && (ver.raw === '1' || ver.raw === '1.2')) || ver === '1.2';
  } catch {
    ok = false;
  }
  if (!ok) ocsThrown(ctx, 403, 'Client version cannot handle the requested encryption version.');
  return ok;
}

interface WriteInput {
  a: Access;
  token: string;
  signature: string;
  text: string;
}

/** Common prologue of v2 POST/PUT: UA (main), headers, folder, permission. */
function writePrologue(srv: Srv, ctx: Ctx, id: number, needSignature: boolean): WriteInput | undefined {
  if (isMain(srv) && !uaOk(ctx)) return undefined;
  const token = header(ctx, 'e2e-token');
  if (!token) return (ocsDataError(ctx, 400, 'e2e-token is empty'), undefined);
  const signature = header(ctx, 'x-nc-e2ee-signature');
  if (needSignature && !signature) return (ocsDataError(ctx, 400, 'x-nc-e2ee-signature is empty'), undefined);
  const a = folderAccess(
    srv,
    ctx,
    id,
    () => ocsDataError(ctx, 404, 'Folder not found'),
    () => ocsThrown(ctx, 403, 'Not allowed'),
  );
  if (a === NOT_LOGGED_IN) return (ocs401(ctx), undefined);
  if (!a) return undefined;
  if (!canWrite(srv, a)) return (ocsThrown(ctx, 403, 'You are not allowed to edit the file'), undefined);
  const raw = rawParam(ctx, 'metaData');
  if (needSignature && typeof raw !== 'string') return (ocs500(ctx), undefined);
  return { a, token, signature: signature ?? '', text: typeof raw === 'string' ? raw : '' };
}

function postMetadata(srv: Srv, ctx: Ctx, v: 1 | 2, id: number): void {
  if (v === 1) {
    const f = srv.store.peekE2ee(id);
    if (!f?.committed) return metaNotFound(ctx, id);
    if (!v1VersionOk(ctx, f.committed.text)) return;
    return ocsEmptyError(ctx, 409);
  }
  const w = writePrologue(srv, ctx, id, true);
  if (!w) return;
  if (!lockedByToken(srv.store, w.a.node, w.token)) {
    return ocsThrown(
      ctx,
      403,
      'You are not allowed to edit the file, make sure to first lock it, and then send the right token',
    );
  }
  const f = srv.store.e2ee(id);
  if (f.committed || f.staged) return ocsEmptyError(ctx, 409);
  f.staged = { text: w.text, signature: w.signature };
  addTouched(srv.store, w.token, id);
  ocsOk(ctx, { 'meta-data': w.text });
}

function putMetadata(srv: Srv, ctx: Ctx, v: 1 | 2, id: number): void {
  if (v === 1) return putMetadataV1(srv, ctx, id);
  const w = writePrologue(srv, ctx, id, true);
  if (!w) return;
  if (!lockedByToken(srv.store, w.a.node, w.token)) return ocsDataError(ctx, 412, 'Folder is not locked');
  const f = srv.store.e2ee(id);
  if (!f.committed) return ocsThrown(ctx, 404, 'Metadata-file does not exist');
  f.staged = { text: w.text, signature: w.signature };
  addTouched(srv.store, w.token, id);
  ocsOk(ctx, { 'meta-data': w.text });
}

function putMetadataV1(srv: Srv, ctx: Ctx, id: number): void {
  if (!uaOk(ctx)) return;
  const f = srv.store.peekE2ee(id);
  if (!f?.committed) return metaNotFound(ctx, id);
  if (!v1VersionOk(ctx, f.committed.text)) return;
  if (!ctx.user) return ocs401(ctx);
  const a = accessById(srv, ctx.user, id);
  if (!a) return metaNotFound(ctx, id);
  const token = param(ctx, 'e2e-token') ?? '';
  if (!token || !lockedByToken(srv.store, a.node, token))
    return ocsThrown(ctx, 403, 'You are not allowed to edit the file');
  const text = param(ctx, 'metaData') ?? '';
  f.staged = { text, signature: f.committed.signature };
  addTouched(srv.store, token, id);
  ocsOk(ctx, { 'meta-data': text });
}

function deleteMetadata(srv: Srv, ctx: Ctx, v: 1 | 2, id: number): void {
  if (v === 1) {
    if (!uaOk(ctx) || !needLogin(ctx)) return;
    const f = srv.store.peekE2ee(id);
    if (!f?.committed) return metaNotFound(ctx, id);
    if (!v1VersionOk(ctx, f.committed.text)) return;
    delete f.committed;
    srv.store.markDirty();
    return ocsOk(ctx, []);
  }
  const w = writePrologue(srv, ctx, id, false);
  if (!w) return;
  if (!lockedByToken(srv.store, w.a.node, w.token)) return ocsDataError(ctx, 412, 'Metadata is not locked');
  const f = srv.store.e2ee(id);
  if (!f.committed && !f.staged) return metaNotFound(ctx, id);
  f.staged = { deleted: true };
  addTouched(srv.store, w.token, id);
  ocsOk(ctx, []);
}

function putFiledrop(srv: Srv, ctx: Ctx, _v: 1 | 2, id: number): void {
  const token = param(ctx, 'shareToken') || undefined;
  if (!ctx.user && !token)
    return ocsDataError(ctx, 400, "No 'shareToken' provided and user is not logged in");
  const node = srv.store.node(id);
  if (!node) return metaNotFound(ctx, id);
  if (token) {
    const s = linkShare(srv, token);
    if (!s) return ocsThrown(ctx, 403, 'Not allowed');
    if (s.owner !== ctx.user && isMain(srv)) {
      const root = srv.store.node(s.nodeId);
      if (!(s.permissions & PERM_CREATE) || !root?.encrypted || !insideShare(srv, s, node)) {
        return ocsThrown(ctx, 403, 'Not allowed');
      }
    }
  } else if (!accessById(srv, ctx.user!, id)) return metaNotFound(ctx, id);
  if (node.parent === null) return ocsThrown(ctx, 403, 'Not allowed');
  const f = srv.store.peekE2ee(id);
  if (!f?.committed) return metaNotFound(ctx, id);
  if (anyLock(srv.store, node)) return ocsThrown(ctx, 412, 'File already locked');
  let merged: ReturnType<typeof mergeFiledrop>;
  try {
    merged = mergeFiledrop(f.committed.text, param(ctx, 'filedrop') ?? '');
  } catch {
    return ocsThrown(ctx, 400, 'Internal error');
  }
  f.committed = { text: merged.text, signature: f.committed.signature };
  f.history.push(f.committed);
  srv.store.markDirty();
  if (isMain(srv)) ocsOk(ctx, { filedrop: phpToJs(merged.input) });
  else ocsOk(ctx, []);
}

// ---------- locks ----------

function parseCounter(ctx: Ctx): number {
  const raw = header(ctx, 'x-nc-e2ee-counter') ?? '';
  const m = /^\s*([+-]?\d+)/.exec(raw);
  return m ? parseInt(m[1]!, 10) : 0;
}

function lockV2(srv: Srv, ctx: Ctx, id: number): void {
  if (!uaOk(ctx)) return;
  const counter = parseCounter(ctx);
  if (counter === 0 || (counter < 0 && isMain(srv))) {
    return ocsDataError(ctx, 400, 'X-NC-E2EE-COUNTER is missing in the request');
  }
  const forbidden = (): void => ocsDataError(ctx, 403, 'You are not allowed to create the lock');
  const a = folderAccess(srv, ctx, id, forbidden, forbidden);
  if (a === NOT_LOGGED_IN) return ocs401(ctx);
  if (!a) return;
  const n = a.node;
  if (!canWrite(srv, a) || isHomeRoot(n) || !n.dir) return forbidden();
  if (isMain(srv) && !inEncryptedTree(srv.store, n)) return forbidden();
  const token = param(ctx, 'e2e-token') || undefined;
  if (conflictingLock(srv.store, n, token)) return ocsDataError(ctx, 423, 'File already locked');
  const own = srv.store.lockOf(n.id);
  if (own && token && own.token === token) return ocsOk(ctx, { 'e2e-token': own.token });
  if (counter < 0) return ocs500(ctx);
  const f = srv.store.e2ee(n.id);
  if (f.counter !== undefined && f.counter >= counter) {
    if (!isMain(srv)) return ocs500(ctx);
    return ocsDataError(ctx, 412, 'The provided counter is smaller than the current counter.');
  }
  const newToken = newLockToken();
  srv.store.state.locks[String(n.id)] = {
    token: newToken,
    created: Date.now(),
    by: ctx.user ?? 's:' + (a.share?.token ?? ''),
  };
  if (f.committed) f.stagedCounter = counter;
  else delete f.stagedCounter;
  srv.store.markDirty();
  ocsOk(ctx, { 'e2e-token': newToken });
}

function unlockV2(srv: Srv, ctx: Ctx, id: number): void {
  if (!uaOk(ctx)) return;
  const token = header(ctx, 'e2e-token');
  if (!token) return ocsDataError(ctx, 400, 'e2e-token is empty');
  const forbidden = (): void => ocsDataError(ctx, 403, 'You are not allowed to remove the lock');
  const a = folderAccess(srv, ctx, id, forbidden, forbidden);
  if (a === NOT_LOGGED_IN) return ocs401(ctx);
  if (!a) return;
  const n = a.node;
  if (!canWrite(srv, a)) return forbidden();
  if (isMain(srv) && !n.encrypted) return forbidden();
  const abort = param(ctx, 'abort') === 'true';
  const own = srv.store.lockOf(n.id);
  if (own) {
    if (own.token !== token) return forbidden();
    endCycle(srv.store, token, n.id, abort);
    return ocsOk(ctx, []);
  }
  if (lockedByToken(srv.store, n, token)) {
    endCycle(srv.store, token, undefined, abort);
    return ocsDataError(ctx, 404, 'File not locked');
  }
  if (isMain(srv)) return forbidden();
  ocsDataError(ctx, 404, 'File not locked');
}

function lockV1(srv: Srv, ctx: Ctx, id: number): void {
  if (!uaOk(ctx) || !needLogin(ctx)) return;
  const forbidden = (): void => ocsDataError(ctx, 403, 'You are not allowed to create the lock');
  const a = accessById(srv, ctx.user!, id);
  if (!a || !a.node.dir || isHomeRoot(a.node) || !canWrite(srv, a)) return forbidden();
  const token = param(ctx, 'e2e-token') || undefined;
  if (conflictingLock(srv.store, a.node, token)) return forbidden();
  const own = srv.store.lockOf(a.node.id);
  if (own && own.token === token) return ocsOk(ctx, { 'e2e-token': own.token });
  const t = newLockToken();
  srv.store.state.locks[String(a.node.id)] = { token: t, created: Date.now(), by: ctx.user!, v1: true };
  srv.store.markDirty();
  ocsOk(ctx, { 'e2e-token': t });
}

function unlockV1(srv: Srv, ctx: Ctx, id: number): void {
  if (!uaOk(ctx) || !needLogin(ctx)) return;
  const token = header(ctx, 'e2e-token');
  if (!token) return ocsDataError(ctx, 400, 'e2e-token is empty');
  const a = accessById(srv, ctx.user!, id);
  if (!a) return ocsDataError(ctx, 404, 'File not locked');
  const own = srv.store.lockOf(id);
  if (!own) return ocsDataError(ctx, 404, 'File not locked');
  if (own.token !== token) return ocsDataError(ctx, 403, 'You are not allowed to remove the lock');
  finaliseFolder(srv.store, id);
  delete srv.store.state.locks[String(id)];
  const t = srv.store.state.touched[token];
  if (t) srv.store.state.touched[token] = t.filter((x) => x !== id);
  srv.store.markDirty();
  ocsOk(ctx, []);
}

const ROUTES: Record<string, Handler> = {
  'GET public-key': getPublicKey,
  'POST public-key': postPublicKey,
  'PUT public-key': putPublicKey,
  'DELETE public-key': deletePublicKey,
  'GET private-key': getPrivateKey,
  'POST private-key': postPrivateKey,
  'DELETE private-key': deletePrivateKey,
  'GET server-key': getServerKey,
  'PUT encrypted': putEncrypted,
  'DELETE encrypted': deleteEncrypted,
  'DELETE encrypted-files': deleteEncryptedFiles,
  'GET meta-data': getMetadata,
  'POST meta-data': postMetadata,
  'PUT meta-data': putMetadata,
  'DELETE meta-data': deleteMetadata,
  'PUT meta-data/filedrop': putFiledrop,
  'POST lock': (srv, ctx, v, id) => (v === 1 ? lockV1(srv, ctx, id) : lockV2(srv, ctx, id)),
  'DELETE lock': (srv, ctx, v, id) => (v === 1 ? unlockV1(srv, ctx, id) : unlockV2(srv, ctx, id)),
};
