import { describe, expect, it } from 'vitest';
import { CipherfoldError, isCipherfoldError } from '../../../lib/errors';
import { NextcloudClient, e2eeApiFamilyFor, normalizeBaseUrl } from '../../../lib/nextcloud/client';
import type { ErrorKind } from '../../../lib/errors';
import { FakeFetch, form, ocsError, ocsJson } from './fake-fetch';

const BASE = 'https://cloud.example.com/nextcloud';
const AUTH = { loginName: 'Alice@Example.com', appPassword: 'app-pass-XYZ' };

function client(
  ff: FakeFetch,
  extra: Partial<ConstructorParameters<typeof NextcloudClient>[0]> = {},
): NextcloudClient {
  return new NextcloudClient({ baseUrl: BASE + '/', auth: AUTH, fetch: ff.fetch, ...extra });
}

async function caught(p: Promise<unknown>): Promise<CipherfoldError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CipherfoldError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

const CAPS = {
  version: { major: 31, minor: 0, micro: 6, string: '31.0.6', edition: '', extendedSupport: false },
  capabilities: {
    core: { pollinterval: 60 },
    theming: { name: 'Nextcloud', color: '#0082c9' },
    'end-to-end-encryption': { enabled: true, 'api-version': '2.0', 'keys-exist': false },
  },
};

describe('base URL', () => {
  it('normalises and keeps a sub-path', () => {
    expect(normalizeBaseUrl('https://h/nextcloud/')).toBe('https://h/nextcloud');
    expect(normalizeBaseUrl(' https://h/nextcloud/index.php/apps/files ')).toBe('https://h/nextcloud');
    expect(normalizeBaseUrl('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
  });
  it.each(['ftp://h', 'not a url', 'https://u:p@h/'])('rejects %s', (u) => {
    expect(() => normalizeBaseUrl(u)).toThrow(CipherfoldError);
  });
  it('picks the E2EE api family', () => {
    expect(e2eeApiFamilyFor('2.1')).toBe('v2');
    expect(e2eeApiFamilyFor('2.0')).toBe('v2');
    expect(e2eeApiFamilyFor('1.2')).toBe('v1');
    expect(e2eeApiFamilyFor('')).toBe('v1');
  });
});

describe('OCS core', () => {
  it('capabilities: URL, headers, Basic auth and typed result', async () => {
    const ff = new FakeFetch().reply(ocsJson(CAPS));
    const caps = await client(ff, { userAgent: 'Cipherfold/0.1' }).getCapabilities();
    expect(caps).toEqual({
      version: { major: 31, minor: 0, micro: 6, string: '31.0.6' },
      e2ee: { enabled: true, apiVersion: '2.0', keysExist: false },
      themingColor: '#0082c9',
    });
    const r = ff.last;
    expect(r.method).toBe('GET');
    expect(r.url).toBe(`${BASE}/ocs/v2.php/cloud/capabilities?format=json`);
    expect(r.headers['ocs-apirequest']).toBe('true');
    expect(r.headers['accept']).toBe('application/json');
    expect(r.headers['x-e2ee-supported']).toBe('true');
    expect(r.headers['user-agent']).toBe('Cipherfold/0.1');
    expect(r.headers['authorization']).toBe(
      'Basic ' + Buffer.from('Alice@Example.com:app-pass-XYZ', 'utf8').toString('base64'),
    );
    expect(r.credentials).toBe('omit');
  });

  it('capabilities without the E2EE entry (anonymous / app restricted)', async () => {
    const ff = new FakeFetch().reply(ocsJson({ version: CAPS.version, capabilities: { core: {} } }));
    const caps = await new NextcloudClient({ baseUrl: BASE, fetch: ff.fetch }).getCapabilities();
    expect(caps.e2ee).toBeUndefined();
    expect(caps.themingColor).toBeUndefined();
    expect(ff.last.headers['authorization']).toBeUndefined();
  });

  it('current user id differs from the login name and is cached for DAV', async () => {
    const ff = new FakeFetch().reply(ocsJson({ id: 'alice', displayname: 'Alice' }));
    const c = client(ff);
    expect(await c.getCurrentUserId()).toBe('alice');
    expect(ff.last.url).toBe(`${BASE}/ocs/v2.php/cloud/user?format=json`);
    expect(await c.userId()).toBe('alice');
    expect(ff.requests).toHaveLength(1);
  });

  it('resolves the user id lazily once for concurrent DAV calls', async () => {
    const ff = new FakeFetch().reply(ocsJson({ id: 'u 1' }));
    const c = client(ff);
    const [a, b] = await Promise.all([c.dav.url('/x'), c.dav.url('/y')]);
    expect(a).toBe(`${BASE}/remote.php/dav/files/u%201/x`);
    expect(b).toBe(`${BASE}/remote.php/dav/files/u%201/y`);
    expect(ff.requests).toHaveLength(1);
  });

  it('revokes the app password', async () => {
    const ff = new FakeFetch().reply(ocsJson([]));
    await client(ff).revokeAppPassword();
    expect(ff.last.method).toBe('DELETE');
    expect(ff.last.url).toBe(`${BASE}/ocs/v2.php/core/apppassword?format=json`);
  });

  it('a 200 OCS answer with status failure is mapped by its statuscode', async () => {
    const ff = new FakeFetch().reply(
      new Response(
        JSON.stringify({ ocs: { meta: { status: 'failure', statuscode: 404, message: 'nope' }, data: [] } }),
        {
          status: 200,
        },
      ),
    );
    expect((await caught(client(ff).getCapabilities())).kind).toBe('not-found');
  });

  it('non-JSON and envelope-less answers are server errors', async () => {
    const ff = new FakeFetch().reply(
      new Response('<html>login</html>', { status: 200 }),
      new Response('{"x":1}'),
    );
    expect((await caught(client(ff).getCapabilities())).kind).toBe('server');
    expect((await caught(client(ff).getCapabilities())).kind).toBe('server');
  });
});

describe('Login Flow v2', () => {
  const start = {
    poll: { token: 'T'.repeat(128), endpoint: `${BASE}/index.php/login/v2/poll` },
    login: `${BASE}/index.php/login/v2/flow/abc`,
  };

  it('starts, polls pending, then granted', async () => {
    const ff = new FakeFetch().reply(
      new Response(JSON.stringify(start)),
      new Response('[]', { status: 404 }),
      new Response(
        JSON.stringify({ server: BASE, loginName: 'Alice@Example.com', appPassword: 'p'.repeat(72) }),
      ),
    );
    const c = new NextcloudClient({ baseUrl: BASE, fetch: ff.fetch });
    const s = await c.startLoginFlow();
    expect(s).toEqual({
      pollToken: 'T'.repeat(128),
      pollEndpoint: start.poll.endpoint,
      loginUrl: start.login,
    });
    expect(ff.last).toMatchObject({ method: 'POST', url: `${BASE}/index.php/login/v2` });
    expect(await c.pollLoginFlow(s)).toEqual({ status: 'pending' });
    expect(ff.last).toMatchObject({ method: 'POST', url: start.poll.endpoint });
    expect(form(ff.last.body)).toEqual({ token: 'T'.repeat(128) });
    expect(await c.pollLoginFlow(s)).toEqual({
      status: 'granted',
      server: BASE,
      loginName: 'Alice@Example.com',
      appPassword: 'p'.repeat(72),
    });
  });

  it('never sends the poll token to a foreign origin', async () => {
    const ff = new FakeFetch().reply(new Response('[]', { status: 404 }));
    const c = new NextcloudClient({ baseUrl: BASE, fetch: ff.fetch });
    await c.pollLoginFlow({ pollToken: 't', pollEndpoint: 'https://evil.example/poll', loginUrl: BASE });
    expect(ff.last.url).toBe(`${BASE}/index.php/login/v2/poll`);
  });

  it('rejects a non-http login URL', async () => {
    const ff = new FakeFetch().reply(
      new Response(JSON.stringify({ ...start, login: 'javascript:alert(1)' })),
    );
    expect(
      (await caught(new NextcloudClient({ baseUrl: BASE, fetch: ff.fetch }).startLoginFlow())).kind,
    ).toBe('server');
  });
});

describe('error mapping', () => {
  const UA = 'Client "Mozilla/5.0" is not allowed to access end-to-end encrypted content.';
  const cases: [string, () => Response, ErrorKind][] = [
    ['401', () => ocsError(401, 'Current user is not logged in', 'meta', 997), 'auth'],
    ['403 UA refusal', () => ocsError(403, UA), 'e2ee-unavailable'],
    ['403 other', () => ocsError(403, 'You are not allowed to create the lock', 'data'), 'permission'],
    ['404', () => ocsError(404, 'Could not find the private key', 'data'), 'not-found'],
    ['409', () => ocsJson([], 409), 'conflict'],
    ['412', () => ocsError(412, 'Folder is not locked', 'data'), 'conflict'],
    ['423', () => ocsError(423, 'File already locked', 'data'), 'locked'],
    ['429', () => new Response('', { status: 429, headers: { 'Retry-After': '30' } }), 'server'],
    ['500', () => ocsError(500, 'Internal Server Error\n', 'meta', 996), 'server'],
    ['502 html', () => new Response('<html>bad gateway</html>', { status: 502 }), 'server'],
    ['400', () => ocsError(400, 'Cannot decode userlist'), 'server'],
  ];
  it.each(cases)('%s', async (_n, res, kind) => {
    const ff = new FakeFetch().reply(res());
    const e = await caught(client(ff).getCapabilities());
    expect(e.kind).toBe(kind);
    expect(e.message.split('. ').length).toBeGreaterThanOrEqual(3);
  });

  it('detail carries status, OCS code and message but never credentials or bodies', async () => {
    const ff = new FakeFetch().reply(
      new Response(
        JSON.stringify({
          ocs: {
            meta: { status: 'failure', statuscode: 403, message: '' },
            data: { message: 'no', secret: 'BODYSECRET' },
          },
        }),
        { status: 403 },
      ),
    );
    const e = await caught(client(ff).getCapabilities());
    expect(e.detail).toContain('HTTP 403');
    expect(e.detail).toContain('OCS 403');
    expect(e.detail).toContain('"no"');
    const all = `${e.message} ${e.detail ?? ''}`;
    expect(all).not.toContain('BODYSECRET');
    expect(all).not.toContain('app-pass-XYZ');
    expect(all).not.toContain(Buffer.from('Alice@Example.com:app-pass-XYZ').toString('base64'));
  });

  it('429 advises to wait (Retry-After)', async () => {
    const ff = new FakeFetch().reply(new Response('', { status: 429, headers: { 'Retry-After': '30' } }));
    const e = await caught(client(ff).getCapabilities());
    expect(e.message).toContain('30 seconds');
  });

  it('network: unreachable vs TLS', async () => {
    const refused = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' }),
    });
    const tls = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }),
    });
    const ff = new FakeFetch().reply(
      () => Promise.reject(refused),
      () => Promise.reject(tls),
      () => Promise.reject(new TypeError('Failed to fetch')),
    );
    const a = await caught(client(ff).getCapabilities());
    expect(a.kind).toBe('network');
    expect(a.message).toMatch(/could not be reached/);
    expect(a.detail).toContain('ECONNREFUSED');
    const b = await caught(client(ff).getCapabilities());
    expect(b.kind).toBe('network');
    expect(b.message).toMatch(/TLS/);
    const c = await caught(client(ff).getCapabilities());
    expect(c.kind).toBe('network');
  });

  it('timeout → network; caller abort → cancelled', async () => {
    const hang = (r: { signal: AbortSignal | undefined }): Promise<Response> =>
      new Promise((_res, rej) =>
        r.signal?.addEventListener('abort', () => rej(new DOMException('x', 'AbortError'))),
      );
    const ff = new FakeFetch().reply(hang, hang);
    const t = await caught(client(ff, { timeoutMs: 20 }).getCapabilities());
    expect(t.kind).toBe('network');
    expect(t.detail).toBe('timeout');
    const ac = new AbortController();
    const p = client(ff).getCapabilities(ac.signal);
    setTimeout(() => ac.abort(), 10);
    expect((await caught(p)).kind).toBe('cancelled');
    const pre = new AbortController();
    pre.abort();
    expect((await caught(client(ff).getCapabilities(pre.signal))).kind).toBe('cancelled');
  });

  it('all errors are CipherfoldErrors', async () => {
    const ff = new FakeFetch().reply(ocsError(403, UA));
    const e = await caught(client(ff).getCapabilities());
    expect(isCipherfoldError(e)).toBe(true);
  });
});
