/** Lock rules, PROPFIND escaping, certificate issuing and adversary switches of the stand-in, over HTTP. */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate, createPublicKey, webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePropfind, xmlText } from '../../server/davxml';
import { startStandIn, type StandIn } from '../../server/index';

const E2E = '/ocs/v2.php/apps/end_to_end_encryption/api/v2';

function client(s: StandIn, user = 'alice', password = `${user}-password`) {
  const auth = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
  const call = async (
    method: string,
    path: string,
    opts: { headers?: Record<string, string>; body?: string } = {},
  ) => {
    const res = await fetch(s.url + path, {
      method,
      headers: {
        Authorization: auth,
        'OCS-APIRequest': 'true',
        Accept: 'application/json',
        'X-E2EE-SUPPORTED': 'true',
        ...opts.headers,
      },
      body: opts.body,
    });
    const text = await res.text();
    let json:
      { ocs: { meta: { statuscode: number; message: string }; data: Record<string, unknown> } } | undefined;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json, headers: res.headers };
  };
  const form = (o: Record<string, string>) => ({
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(o).toString(),
  });
  return { call, form, user };
}

async function encryptedFolder(s: StandIn, c: ReturnType<typeof client>, name: string): Promise<number> {
  expect((await c.call('MKCOL', `/remote.php/dav/files/${c.user}/${name}`)).status).toBe(201);
  const id = s.control.fileIdOf(c.user, `/${name}`)!;
  expect((await c.call('PUT', `${E2E}/encrypted/${id}`)).status).toBe(200);
  return id;
}

async function lock(c: ReturnType<typeof client>, id: number, counter: number, token?: string) {
  return c.call('POST', `${E2E}/lock/${id}`, {
    headers: {
      'X-NC-E2EE-COUNTER': String(counter),
      ...(token ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
    },
    body: token ? `e2e-token=${token}` : undefined,
  });
}

async function commitMetadata(
  c: ReturnType<typeof client>,
  id: number,
  counter: number,
  text: string,
  post: boolean,
) {
  const l = await lock(c, id, counter);
  expect(l.status).toBe(200);
  const token = l.json!.ocs.data['e2e-token'] as string;
  const w = await c.call(post ? 'POST' : 'PUT', `${E2E}/meta-data/${id}`, {
    ...c.form({ metaData: text }),
    headers: { ...c.form({}).headers, 'e2e-token': token, 'X-NC-E2EE-SIGNATURE': 'c2ln' },
  });
  expect(w.status).toBe(200);
  expect((await c.call('DELETE', `${E2E}/lock/${id}`, { headers: { 'e2e-token': token } })).status).toBe(200);
}

describe.each(['main', 'nc31'] as const)('stand-in over HTTP (%s)', (flavour) => {
  let s: StandIn;
  beforeAll(async () => {
    s = await startStandIn({ flavour });
  });
  afterAll(async () => {
    await s.close();
  });

  it('lock: token parameter re-acquires, header does not; ancestor lock → 423; counter conflict 412 (main) / 500 (nc31)', async () => {
    const c = client(s);
    const id = await encryptedFolder(s, c, 'lk');
    await commitMetadata(c, id, 1, '{"v":1}', true);
    await commitMetadata(c, id, 2, '{"v":2}', false);
    const conflict = await lock(c, id, 2);
    if (flavour === 'main') {
      expect(conflict.status).toBe(412);
      expect(conflict.json!.ocs.data).toEqual({
        message: 'The provided counter is smaller than the current counter.',
      });
    } else {
      expect(conflict.status).toBe(500);
      expect(conflict.json!.ocs.meta.statuscode).toBe(996);
    }
    const l = await lock(c, id, 3);
    const token = l.json!.ocs.data['e2e-token'] as string;
    expect(token).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(
      (
        await c.call('POST', `${E2E}/lock/${id}`, {
          headers: { 'X-NC-E2EE-COUNTER': '3', 'e2e-token': token },
        })
      ).status,
    ).toBe(423);
    const again = await lock(c, id, 1, token);
    expect(again.status).toBe(200);
    expect(again.json!.ocs.data['e2e-token']).toBe(token);
    // sub-folder under a locked ancestor
    expect(
      (
        await c.call('MKCOL', `/remote.php/dav/files/alice/lk/0123456789abcdef0123456789abcdef`, {
          headers: { 'e2e-token': token },
        })
      ).status,
    ).toBe(201);
    expect(
      (await c.call('DELETE', `${E2E}/lock/${id}`, { headers: { 'e2e-token': token }, body: undefined }))
        .status,
    ).toBe(200);
    const unlockAgain = await c.call('DELETE', `${E2E}/lock/${id}`, { headers: { 'e2e-token': token } });
    expect(unlockAgain.status).toBe(flavour === 'main' ? 403 : 404);
  });

  it('PROPFIND carries metadata text XML-escaped and byte-identical (incl. CR, &, <, non-ASCII)', async () => {
    const c = client(s);
    const id = await encryptedFolder(s, c, 'esc');
    const text = ' {"a":"<&>\\"\'",\r\n"b":"ü € 😀 \\/"}\n';
    await commitMetadata(c, id, 1, text, true);
    const r = await c.call('PROPFIND', '/remote.php/dav/files/alice/esc', {
      headers: { Depth: '0' },
      body: '<d:propfind xmlns:d="DAV:" xmlns:nc="http://nextcloud.org/ns"><d:prop><nc:e2ee-metadata/><nc:e2ee-metadata-signature/></d:prop></d:propfind>',
    });
    expect(r.status).toBe(207);
    expect(r.text).toContain('&#13;');
    const raw = /<nc:e2ee-metadata>([\s\S]*?)<\/nc:e2ee-metadata>/.exec(r.text)![1]!;
    const unescaped = raw
      .replace(/&#13;/g, '\r')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&');
    expect(unescaped).toBe(text);
    const g = await c.call('GET', `${E2E}/meta-data/${id}`);
    expect(g.json!.ocs.data['meta-data']).toBe(text);
    expect(g.headers.get('x-nc-e2ee-signature')).toBe('c2ln');
  });

  it('issues certificates: serial 0, issuer = subject, verifies with the server key, hash per flavour', async () => {
    const c = client(s, 'bob');
    const keys = await webcrypto.subtle.generateKey(
      {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      },
      true,
      ['sign', 'verify'],
    );
    const mk = async (name: string) =>
      (
        await x509.Pkcs10CertificateRequestGenerator.create(
          { name, keys, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' } },
          webcrypto as unknown as Crypto,
        )
      ).toString('pem');
    const wrong = await c.call('POST', `${E2E}/public-key`, c.form({ csr: await mk('CN=Bob') }));
    expect(wrong.status).toBe(403);
    expect(wrong.json!.ocs.meta.message).toBe('Common name (CN) does not match the current user');
    const ok = await c.call('POST', `${E2E}/public-key`, c.form({ csr: await mk('O=Nextcloud, CN=bob') }));
    expect(ok.status).toBe(200);
    const pem = ok.json!.ocs.data['public-key'] as string;
    expect(pem.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
    expect(pem).not.toContain('\r');
    const cert = new X509Certificate(pem);
    expect(cert.serialNumber).toMatch(/^0+$/);
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.subject).toContain('CN=bob');
    expect(cert.verify(createPublicKey(s.control.getServerPublicKeyPem()))).toBe(true);
    expect(cert.ca).toBe(true);
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86400000;
    expect(days).toBe(7300);
    const sigAlg = new x509.X509Certificate(pem).signatureAlgorithm as { hash?: { name: string } };
    expect(sigAlg.hash?.name).toBe(flavour === 'main' ? 'SHA-256' : 'SHA-1');
    expect((await c.call('POST', `${E2E}/public-key`, c.form({ csr: await mk('CN=bob') }))).status).toBe(409);
  });

  it('private-key format validation only on main', async () => {
    const c = client(s, 'carol');
    const bad = await c.call('POST', `${E2E}/private-key`, c.form({ privateKey: 'YQ==|YWJj' }));
    expect(bad.status).toBe(flavour === 'main' ? 400 : 200);
  });

  it('adversary: replay, tamper, forged certificate, swapped server key, fail once, forced status', async () => {
    const c = client(s);
    const id = await encryptedFolder(s, c, 'adv');
    await commitMetadata(c, id, 1, 'one', true);
    await commitMetadata(c, id, 2, 'two', false);
    const md = async () => (await c.call('GET', `${E2E}/meta-data/${id}`)).json!.ocs.data['meta-data'];
    expect(await md()).toBe('two');
    s.control.replayMetadata(id, -2);
    expect(await md()).toBe('one');
    s.control.tamperMetadata(id, (t, sig) => ({ text: t + '!', signature: sig }));
    expect(await md()).toBe('one!');
    s.control.forgeCertificate('alice', 'FORGED');
    expect(
      (await c.call('GET', `${E2E}/public-key?users=${encodeURIComponent('["alice"]')}`)).json!.ocs.data,
    ).toEqual({ 'public-keys': { alice: 'FORGED' } });
    s.control.swapServerKey('OTHER');
    expect((await c.call('GET', `${E2E}/server-key`)).json!.ocs.data['public-key']).toBe('OTHER');
    s.control.resetAdversaries();
    expect(await md()).toBe('two');
    s.control.failOnce({ method: 'GET', path: /\/meta-data\//, action: { status: 503, body: 'nope' } });
    expect((await c.call('GET', `${E2E}/meta-data/${id}`)).status).toBe(503);
    expect((await c.call('GET', `${E2E}/meta-data/${id}`)).status).toBe(200);
    const rule = s.control.forceStatus({ method: 'POST', path: /\/lock\//, status: 423 });
    expect((await lock(c, id, 9)).status).toBe(423);
    expect((await lock(c, id, 9)).status).toBe(423);
    s.control.clearRule(rule);
    s.control.failOnce({ path: /\/status\.php/, action: 'destroy' });
    await expect(fetch(s.url + '/status.php')).rejects.toThrow();
    const ac = new AbortController();
    s.control.failOnce({ path: /\/status\.php/, action: 'hang' });
    const hung = fetch(s.url + '/status.php', { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await expect(hung).rejects.toThrow();
    expect(s.control.metadataHistory(id).map((h) => h.text)).toEqual(['one', 'two']);
  });
});

describe('davxml helpers', () => {
  it('xmlText escapes markup, CR and characters XML cannot carry', () => {
    expect(xmlText('a<b>&"c"\r\n\u0001')).toBe('a&lt;b&gt;&amp;&quot;c&quot;&#13;\n\ufffd');
  });
  it('parsePropfind resolves prefixes and default namespaces', () => {
    const r = parsePropfind(
      '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><resourcetype/><x:fileid xmlns:x="http://owncloud.org/ns"/></prop></propfind>',
    );
    expect(r).toEqual({
      mode: 'prop',
      props: [
        { ns: 'DAV:', local: 'resourcetype' },
        { ns: 'http://owncloud.org/ns', local: 'fileid' },
      ],
    });
    expect(parsePropfind('')).toEqual({ mode: 'allprop' });
    expect(parsePropfind('<d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>')).toEqual({
      mode: 'allprop',
    });
  });
});
