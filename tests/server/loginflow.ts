/** Login Flow v2 (POST /login/v2, browser pages with a login form and a grant button, poll). */
import { checkPassword, createAppPassword, randomAlnum } from './auth';
import type { Srv } from './context';
import { escapeHtml, header, param, parseCookies, send, sendHtml, sendJson, type Ctx } from './http';
import { SESSION_COOKIE } from './auth';

const FLOW_TTL_MS = 20 * 60 * 1000;

export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} - Nextcloud</title>
<style>body{font-family:sans-serif;background:#00679e;color:#222;margin:0}
.guest-box{background:#fff;max-width:360px;margin:80px auto;padding:24px;border-radius:10px}
input{display:block;width:100%;margin:6px 0 12px;padding:8px;box-sizing:border-box}
button{padding:8px 16px}.warning{color:#b00}</style></head>
<body><main class="guest-box">${body}</main></body></html>`;
}

function flowByLoginToken(srv: Srv, token: string): ReturnType<Srv['flows']['get']> {
  for (const f of srv.flows.values())
    if (f.loginToken === token && Date.now() - f.created < FLOW_TTL_MS) return f;
  return undefined;
}

function loginForm(action: string, error?: string, hidden: Record<string, string> = {}): string {
  const hiddenInputs = Object.entries(hidden)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('');
  return `<h2>Log in to Nextcloud</h2>
${error ? `<p class="warning" id="login-error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}" id="login-form">${hiddenInputs}
<label for="user">Account name or email</label><input id="user" name="user" autocomplete="username" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit" id="submit-login">Log in</button></form>`;
}

function grantPage(srv: Srv, loginToken: string, uid: string): string {
  return page(
    'Grant access',
    `<h2>Account access</h2><p id="grant-info">You are about to grant <strong>${escapeHtml(srv.url)}</strong> client access to your account <strong>${escapeHtml(uid)}</strong>.</p>
<form method="post" action="/index.php/login/v2/grant"><input type="hidden" name="loginToken" value="${escapeHtml(loginToken)}">
<button type="submit" id="grant">Grant access</button></form>`,
  );
}

export function handleLoginFlow(srv: Srv, ctx: Ctx, p: string): void {
  if (p === '/login/v2' && ctx.method === 'POST') {
    const pollToken = randomAlnum(128);
    const loginToken = randomAlnum(128);
    srv.flows.set(pollToken, { pollToken, loginToken, created: Date.now() });
    sendJson(ctx, 200, {
      poll: { token: pollToken, endpoint: `${srv.url}/index.php/login/v2/poll` },
      login: `${srv.url}/index.php/login/v2/flow/${loginToken}`,
    });
    return;
  }
  if (p === '/login/v2/poll' && ctx.method === 'POST') {
    const token = param(ctx, 'token') ?? '';
    const f = srv.flows.get(token);
    if (!f || !f.result) {
      sendJson(ctx, 404, []);
      return;
    }
    srv.flows.delete(token);
    // PHP's JSON encoder escapes slashes
    send(ctx, 200, JSON.stringify(f.result).replace(/\//g, '\\/'), {
      'Content-Type': 'application/json; charset=utf-8',
    });
    return;
  }
  const m = /^\/login\/v2\/flow\/([A-Za-z0-9]+)$/.exec(p);
  if (m) {
    const f = flowByLoginToken(srv, m[1]!);
    if (!f) {
      sendHtml(
        ctx,
        403,
        page(
          'Error',
          '<p class="warning" id="flow-error">Access forbidden. Your login token is invalid or has expired.</p>',
        ),
      );
      return;
    }
    const sid = parseCookies(ctx)[SESSION_COOKIE];
    const sessionUser = sid ? srv.sessions.get(sid)?.uid : undefined;
    if (ctx.method === 'GET') {
      const uid = f.user ?? sessionUser;
      if (uid) f.user = uid;
      sendHtml(
        ctx,
        200,
        uid
          ? grantPage(srv, f.loginToken, uid)
          : page('Login', loginForm(p.startsWith('/index.php') ? p : '/index.php' + p)),
      );
      return;
    }
    if (ctx.method === 'POST') {
      const user = param(ctx, 'user') ?? '';
      const password = param(ctx, 'password') ?? '';
      if (checkPassword(srv, user, password) !== 'password') {
        sendHtml(ctx, 200, page('Login', loginForm('/index.php' + p, 'Wrong login or password.')));
        return;
      }
      f.user = user;
      sendHtml(ctx, 200, grantPage(srv, f.loginToken, user));
      return;
    }
  }
  if (p === '/login/v2/grant' && ctx.method === 'POST') {
    const f = flowByLoginToken(srv, param(ctx, 'loginToken') ?? '');
    if (!f || !f.user) {
      sendHtml(ctx, 403, page('Error', '<p class="warning" id="flow-error">Access forbidden.</p>'));
      return;
    }
    const appPassword = createAppPassword(srv, f.user, header(ctx, 'user-agent') ?? 'Login Flow v2');
    f.result = { server: srv.url, loginName: f.user, appPassword };
    sendHtml(
      ctx,
      200,
      page(
        'Account connected',
        '<h2 id="flow-done">Account connected</h2><p>Your client should now be connected! You can close this window.</p>',
      ),
    );
    return;
  }
  send(ctx, 404, 'Not found');
}
