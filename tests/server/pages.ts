/** HTML pages: login, logout, the Files app page (DOM anchors of nextcloud-files-dom.md), hostile script. */
import { checkPassword, newSession, SESSION_COOKIE } from './auth';
import type { Srv } from './context';
import { escapeHtml, param, parseCookies, redirect, send, sendHtml, sendJson, type Ctx } from './http';
import { page } from './loginflow';
import { FILES_PAGE_SCRIPT, HOSTILE_SCRIPT } from './pagescripts';

function safeRedirect(target: string | undefined): string {
  if (target && target.startsWith('/') && !target.startsWith('//')) return target;
  return '/index.php/apps/files/';
}

function loginPage(redirectUrl: string, error?: string): string {
  return page(
    'Login',
    `<h2>Log in to Nextcloud</h2>${error ? `<p class="warning" id="login-error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/index.php/login" id="login-form"><input type="hidden" name="redirect_url" value="${escapeHtml(redirectUrl)}">
<label for="user">Account name or email</label><input id="user" name="user" autocomplete="username" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit" id="submit-login">Log in</button></form>`,
  );
}

export async function handlePages(srv: Srv, ctx: Ctx, p: string): Promise<boolean> {
  if (p === '/__hostile/report') {
    if (ctx.method === 'POST') {
      let report: unknown;
      try {
        report = JSON.parse(ctx.body.toString('utf8'));
      } catch {
        report = { raw: ctx.body.toString('utf8') };
      }
      srv.hostile.reports.push(report);
      if (srv.hostile.reports.length > 500) srv.hostile.reports.shift();
      sendJson(ctx, 200, { ok: true });
    } else if (ctx.method === 'DELETE') {
      srv.hostile.reports = [];
      sendJson(ctx, 200, { ok: true });
    } else sendJson(ctx, 200, mergedHostileReport(srv.hostile.reports));
    return true;
  }
  if (p === '/__hostile/script.js') {
    send(ctx, 200, HOSTILE_SCRIPT, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': 'no-store',
    });
    return true;
  }
  if (p === '/apps/files/js/stand-in-files.js') {
    send(ctx, 200, FILES_PAGE_SCRIPT, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': 'no-store',
    });
    return true;
  }
  if (p === '/login') {
    if (ctx.method === 'POST') {
      const user = param(ctx, 'user') ?? '';
      const target = safeRedirect(param(ctx, 'redirect_url'));
      if (checkPassword(srv, user, param(ctx, 'password') ?? '') !== 'password') {
        sendHtml(ctx, 200, loginPage(target, 'Wrong login or password.'));
        return true;
      }
      const s = newSession(srv, user);
      redirect(ctx, target, { 'Set-Cookie': s.cookie });
      return true;
    }
    sendHtml(ctx, 200, loginPage(safeRedirect(param(ctx, 'redirect_url'))));
    return true;
  }
  if (p === '/logout') {
    const sid = parseCookies(ctx)[SESSION_COOKIE];
    if (sid) srv.sessions.delete(sid);
    redirect(ctx, '/index.php/login', { 'Set-Cookie': `${SESSION_COOKIE}=; Path=/; Max-Age=0` });
    return true;
  }
  if (p === '/' || p === '') {
    redirect(ctx, ctx.user ? '/index.php/apps/files/' : '/index.php/login');
    return true;
  }
  const fm = /^\/apps\/files(?:\/([a-z]+)(?:\/(\d+))?)?\/?$/.exec(p);
  if (fm && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
    if (!ctx.user) {
      redirect(ctx, `/index.php/login?redirect_url=${encodeURIComponent(ctx.url.pathname + ctx.url.search)}`);
      return true;
    }
    const home = srv.store.homeOf(ctx.user)!;
    if (!fm[1] || !fm[2]) {
      const prefix = ctx.url.pathname.startsWith('/index.php') ? '/index.php' : '';
      redirect(
        ctx,
        `${prefix}/apps/files/files/${home.id}?dir=${encodeURIComponent(ctx.url.searchParams.get('dir') ?? '/')}`,
      );
      return true;
    }
    sendHtml(ctx, 200, filesPage(srv, ctx.user, home.id, ctx.sessionId));
    return true;
  }
  return false;
}

function filesPage(srv: Srv, uid: string, homeId: number, sessionId: string | undefined): string {
  const requestToken = (sessionId && srv.sessions.get(sessionId)?.requestToken) || '';
  const user = srv.store.state.users[uid]!;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Files - Nextcloud</title>
<style>
body{font-family:sans-serif;margin:0}#header{background:#00679e;color:#fff;padding:8px 16px;display:flex;justify-content:space-between}
#content{display:flex}#app-navigation{width:220px;padding:12px;border-right:1px solid #ddd}
#app-content{flex:1;padding:12px}.files-list__breadcrumbs a{margin-right:6px}
table.files-list__table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:6px;border-bottom:1px solid #eee}
</style></head>
<body id="body-user" data-user="${escapeHtml(uid)}" data-requesttoken="${escapeHtml(requestToken)}" data-home-fileid="${homeId}">
<header id="header"><span class="logo">Nextcloud</span><span id="user-menu" data-user-displayname="${escapeHtml(user.displayName)}">${escapeHtml(user.displayName)} · <a href="/index.php/logout" style="color:#fff">Log out</a></span></header>
<div id="content" class="app-files">
<nav id="app-navigation" data-cy-files-navigation><ul><li><a id="nav-all-files" href="/index.php/apps/files/files/${homeId}?dir=/">All files</a></li></ul></nav>
<main id="app-content" data-cy-files-content>
<div class="files-list__header"><nav class="files-list__breadcrumbs" data-cy-files-content-breadcrumbs aria-label="Current directory path"></nav></div>
<div id="files-view"></div>
<div data-cy-files-drag-drop-area class="files-list__drag-drop-notice"></div>
</main></div>
<script src="/apps/files/js/stand-in-files.js"></script>
${srv.hostile.enabled ? '<script src="/__hostile/script.js"></script>' : ''}
</body></html>`;
}

function mergedHostileReport(reports: unknown[]): Record<string, unknown> {
  const keys = ['domTexts', 'iframeAccess', 'messages', 'forgedPosts', 'phishingShown'] as const;
  const out: Record<string, unknown[]> = {};
  for (const k of keys) {
    const seen = new Set<string>();
    out[k] = [];
    for (const r of reports) {
      const arr = r && typeof r === 'object' ? (r as Record<string, unknown>)[k] : undefined;
      if (!Array.isArray(arr)) continue;
      for (const x of arr) {
        const s = JSON.stringify(x);
        if (!seen.has(s)) {
          seen.add(s);
          out[k]!.push(x);
        }
      }
    }
  }
  return { ...out, reports };
}
