/** Users, app passwords, sessions and HTTP Basic / cookie authentication. */
import { randomBytes } from 'node:crypto';
import type { Srv } from './context';
import { header, parseCookies, type Ctx } from './http';

export const SESSION_COOKIE = 'nc_session';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomAlnum(n: number): string {
  const bytes = randomBytes(n * 2);
  let out = '';
  for (let i = 0; out.length < n; i++) {
    const b = bytes[i % bytes.length]!;
    if (b < 248) out += ALNUM[b % 62];
    if (i > n * 4) break;
  }
  while (out.length < n) out += ALNUM[randomBytes(1)[0]! % 62];
  return out;
}

export function addUser(
  srv: Srv,
  u: { id: string; password: string; displayName?: string; email?: string },
  admin = false,
): void {
  srv.store.state.users[u.id] = {
    id: u.id,
    password: u.password,
    displayName: u.displayName ?? u.id,
    email: u.email ?? '',
    admin,
  };
  srv.store.ensureHome(u.id);
  srv.store.markDirty();
}

export function createAppPassword(srv: Srv, uid: string, name = 'stand-in'): string {
  if (!srv.store.state.users[uid]) throw new Error(`no such user: ${uid}`);
  const pw = randomAlnum(72);
  srv.store.state.appPasswords[pw] = { uid, created: Date.now(), name };
  srv.store.markDirty();
  return pw;
}

export function checkPassword(
  srv: Srv,
  uid: string,
  password: string,
): 'password' | 'apppassword' | undefined {
  const u = srv.store.state.users[uid];
  if (!u) return undefined;
  if (u.password === password) return 'password';
  const ap = srv.store.state.appPasswords[password];
  if (ap && ap.uid === uid) return 'apppassword';
  return undefined;
}

export function newSession(srv: Srv, uid: string): { id: string; cookie: string } {
  const id = randomAlnum(32);
  srv.sessions.set(id, { uid, requestToken: randomAlnum(40) });
  return { id, cookie: `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax` };
}

/** Basic credentials if present: { user, password }. */
export function basicCredentials(ctx: Ctx): { user: string; password: string } | undefined {
  const h = header(ctx, 'authorization');
  if (!h || !/^basic /i.test(h)) return undefined;
  const dec = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
  const i = dec.indexOf(':');
  if (i < 0) return undefined;
  return { user: dec.slice(0, i), password: dec.slice(i + 1) };
}

/**
 * Authenticate a request. Basic (password or app password) always; the session cookie only when the
 * CSRF rule holds: OCS needs `OCS-APIRequest: true`, other non-GET/HEAD requests need the `requesttoken`.
 * Returns false if credentials were sent but are wrong.
 */
export function authenticate(srv: Srv, ctx: Ctx): boolean {
  const basic = basicCredentials(ctx);
  if (basic) {
    const kind = checkPassword(srv, basic.user, basic.password);
    if (!kind) return false;
    ctx.user = basic.user;
    ctx.authKind = kind;
    if (kind === 'apppassword') ctx.appPassword = basic.password;
    return true;
  }
  const sid = parseCookies(ctx)[SESSION_COOKIE];
  const sess = sid ? srv.sessions.get(sid) : undefined;
  if (sess && srv.store.state.users[sess.uid]) {
    const isOcs = ctx.path.startsWith('/ocs/');
    const safe = ctx.method === 'GET' || ctx.method === 'HEAD';
    const csrfOk = isOcs
      ? header(ctx, 'ocs-apirequest') === 'true'
      : safe || header(ctx, 'requesttoken') === sess.requestToken;
    if (csrfOk || (!ctx.path.startsWith('/ocs/') && !ctx.path.startsWith('/remote.php/'))) {
      ctx.user = sess.uid;
      ctx.authKind = 'session';
      ctx.sessionId = sid;
    }
  }
  return true;
}
