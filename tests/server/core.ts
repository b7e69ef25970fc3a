/** status.php, capabilities, cloud/user, provisioning (admin) and app-password endpoints. */
import { addUser, checkPassword, createAppPassword } from './auth';
import type { Srv } from './context';
import { header, param, sendJson, type Ctx } from './http';
import { ocs401, ocsDataError, ocsOk, ocsThrown } from './ocs';

export const NC_VERSION = '31.0.6.2';

export function handleStatus(ctx: Ctx): void {
  sendJson(ctx, 200, {
    installed: true,
    maintenance: false,
    needsDbUpgrade: false,
    version: NC_VERSION,
    versionstring: '31.0.6',
    edition: '',
    productname: 'Nextcloud',
    extendedSupport: false,
  });
}

function keysExist(srv: Srv, uid: string): boolean {
  return !!srv.store.state.publicKeys[uid] && !!srv.store.state.privateKeys[uid];
}

export function capabilities(srv: Srv, uid: string | undefined): Record<string, unknown> {
  const caps: Record<string, unknown> = {
    core: { pollinterval: 60, 'webdav-root': 'remote.php/webdav', 'reference-api': true },
    files: { bigfilechunking: true, blacklisted_files: ['.htaccess'], undelete: true, versioning: true },
    files_sharing: {
      api_enabled: true,
      public: { enabled: true, password: { enforced: false }, expire_date: { enabled: false }, upload: true },
      resharing: true,
      user: { send_mail: false },
      group_sharing: false,
    },
    theming: {
      name: 'Nextcloud',
      url: 'https://nextcloud.com',
      slogan: 'a safe home for all your data',
      color: '#00679e',
      'color-text': '#ffffff',
      'color-element': '#00679e',
      background: '',
      'background-plain': false,
      'background-default': true,
    },
  };
  if (uid) {
    caps['end-to-end-encryption'] = {
      enabled: true,
      'api-version': srv.apiVersion,
      'keys-exist': keysExist(srv, uid),
    };
  }
  return {
    version: { major: 31, minor: 0, micro: 6, string: '31.0.6', edition: '', extendedSupport: false },
    capabilities: caps,
  };
}

function userData(srv: Srv, uid: string): Record<string, unknown> {
  const u = srv.store.state.users[uid]!;
  return {
    enabled: true,
    id: u.id,
    'display-name': u.displayName,
    displayname: u.displayName,
    email: u.email || null,
    groups: u.admin ? ['admin'] : [],
    language: 'en',
    locale: '',
    backend: 'Database',
  };
}

/** Handles /ocs/v{1,2}.php/cloud/... and /ocs/v{1,2}.php/core/...; returns false if not matched. */
export function handleCoreOcs(srv: Srv, ctx: Ctx, rest: string): boolean {
  if (rest === '/cloud/capabilities' && ctx.method === 'GET') {
    ocsOk(ctx, capabilities(srv, ctx.user));
    return true;
  }
  if (rest === '/cloud/user' && ctx.method === 'GET') {
    if (!ctx.user) return (ocs401(ctx), true);
    ocsOk(ctx, userData(srv, ctx.user));
    return true;
  }
  if (rest === '/core/apppassword' && ctx.method === 'DELETE') {
    if (!ctx.user) return (ocs401(ctx), true);
    if (!ctx.appPassword) {
      ocsThrown(ctx, 403, 'no app password in use');
      return true;
    }
    delete srv.store.state.appPasswords[ctx.appPassword];
    srv.store.markDirty();
    ocsOk(ctx, []);
    return true;
  }
  if (rest === '/core/getapppassword' && ctx.method === 'GET') {
    if (!ctx.user) return (ocs401(ctx), true);
    if (ctx.authKind === 'apppassword') {
      ocsThrown(ctx, 403, 'You cannot request an new apppassword with an apppassword');
      return true;
    }
    ocsOk(ctx, { apppassword: createAppPassword(srv, ctx.user, header(ctx, 'user-agent') ?? 'client') });
    return true;
  }
  const m = /^\/cloud\/users(?:\/([^/]+))?$/.exec(rest);
  if (m) {
    if (!ctx.user) return (ocs401(ctx), true);
    const target = m[1] ? decodeURIComponent(m[1]) : undefined;
    const me = srv.store.state.users[ctx.user]!;
    if (target && ctx.method === 'GET' && (target === ctx.user || me.admin)) {
      if (!srv.store.state.users[target]) return (ocsThrown(ctx, 404, 'User does not exist'), true);
      ocsOk(ctx, userData(srv, target));
      return true;
    }
    if (!me.admin) {
      ocsThrown(ctx, 403, 'Logged in account must be an admin');
      return true;
    }
    if (!target && ctx.method === 'GET') {
      const search = (param(ctx, 'search') ?? '').toLowerCase();
      ocsOk(ctx, {
        users: Object.keys(srv.store.state.users).filter((u) => u.toLowerCase().includes(search)),
      });
      return true;
    }
    if (!target && ctx.method === 'POST') {
      const id = param(ctx, 'userid') ?? '';
      const password = param(ctx, 'password') ?? '';
      if (!/^[A-Za-z0-9 _.@\-']+$/.test(id)) return (ocsThrown(ctx, 400, 'Invalid user name'), true);
      if (srv.store.state.users[id]) return (ocsThrown(ctx, 400, 'User already exists'), true);
      if (!password)
        return (
          ocsThrown(ctx, 400, 'To send a password link to the user an email address is required.'),
          true
        );
      addUser(srv, { id, password, displayName: param(ctx, 'displayName'), email: param(ctx, 'email') });
      ocsOk(ctx, { id });
      return true;
    }
    if (target && ctx.method === 'DELETE') {
      if (!srv.store.state.users[target]) return (ocsThrown(ctx, 404, 'User does not exist'), true);
      deleteUser(srv, target);
      ocsOk(ctx, []);
      return true;
    }
    ocsDataError(ctx, 405, 'Method not allowed');
    return true;
  }
  return false;
}

export function deleteUser(srv: Srv, uid: string): void {
  const st = srv.store.state;
  const home = srv.store.homeOf(uid);
  if (home) srv.store.remove(home, true);
  delete st.homes[uid];
  delete st.users[uid];
  delete st.publicKeys[uid];
  delete st.privateKeys[uid];
  for (const [pw, ap] of Object.entries(st.appPasswords)) if (ap.uid === uid) delete st.appPasswords[pw];
  for (const [id, s] of Object.entries(st.shares))
    if (s.owner === uid || s.shareWith === uid) delete st.shares[id];
  for (const [sid, s] of srv.sessions) if (s.uid === uid) srv.sessions.delete(sid);
  srv.store.markDirty();
}

export { checkPassword };
