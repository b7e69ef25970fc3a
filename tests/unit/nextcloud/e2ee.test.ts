import { describe, expect, it } from 'vitest';
import { CipherfoldError } from '../../../lib/errors';
import { NextcloudClient } from '../../../lib/nextcloud/client';
import { asFileId, asLockToken } from '../../../lib/nextcloud/ids';
import { FakeFetch, form, ocsError, ocsJson } from './fake-fetch';

const BASE = 'https://h/nc';
const OCS = `${BASE}/ocs/v2.php/apps/end_to_end_encryption/api`;
const ID = asFileId('00001212');
const TOKEN = asLockToken('a'.repeat(64));
const SHARE = 'Sh4reT0ken';

function setup(...responses: Response[]): { ff: FakeFetch; c: NextcloudClient } {
  const ff = new FakeFetch().reply(...responses);
  return {
    ff,
    c: new NextcloudClient({ baseUrl: BASE, auth: { loginName: 'a', appPassword: 'b' }, fetch: ff.fetch }),
  };
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

function common(h: Record<string, string>): void {
  expect(h['ocs-apirequest']).toBe('true');
  expect(h['accept']).toBe('application/json');
  expect(h['x-e2ee-supported']).toBe('true');
}

describe('keys', () => {
  it('GET public-key with users JSON array', async () => {
    const { ff, c } = setup(ocsJson({ 'public-keys': { alice: 'PEM-A', 's:T': 'PEM-S' } }));
    const keys = await c.e2ee.getPublicKeys(['alice', 's:T']);
    expect([...keys]).toEqual([
      ['alice', 'PEM-A'],
      ['s:T', 'PEM-S'],
    ]);
    expect(ff.last.method).toBe('GET');
    expect(ff.last.url).toBe(
      `${OCS}/v2/public-key?users=${encodeURIComponent('["alice","s:T"]')}&format=json`,
    );
    common(ff.last.headers);
  });

  it('GET public-key without users, v1 family', async () => {
    const { ff, c } = setup(ocsJson({ 'public-keys': {} }));
    await c.e2ee.getPublicKeys(undefined, { api: 'v1' });
    expect(ff.last.url).toBe(`${OCS}/v1/public-key?format=json`);
  });

  it('POST public-key: csr + shareToken as parameters', async () => {
    const { ff, c } = setup(ocsJson({ 'public-key': 'CERT' }));
    expect(
      await c.e2ee.createPublicKey('-----BEGIN CERTIFICATE REQUEST-----\n+/=\n', { shareToken: SHARE }),
    ).toBe('CERT');
    expect(ff.last.method).toBe('POST');
    expect(ff.last.url).toBe(`${OCS}/v2/public-key?format=json`);
    expect(ff.last.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(form(ff.last.body)).toEqual({
      csr: '-----BEGIN CERTIFICATE REQUEST-----\n+/=\n',
      shareToken: SHARE,
    });
    expect(ff.last.headers['x-nc-e2ee-share-token']).toBeUndefined();
  });

  it('PUT public-key', async () => {
    const { ff, c } = setup(ocsJson({ 'public-key': 'CERT' }));
    await c.e2ee.uploadPublicKey('CERT');
    expect(ff.last.method).toBe('PUT');
    expect(form(ff.last.body)).toEqual({ publicKey: 'CERT' });
  });

  it('DELETE public-key / private-key: shareToken as query parameter', async () => {
    const { ff, c } = setup(ocsJson([]), ocsJson([]));
    await c.e2ee.deletePublicKey({ shareToken: SHARE });
    expect(ff.requests[0]).toMatchObject({
      method: 'DELETE',
      url: `${OCS}/v2/public-key?shareToken=${SHARE}&format=json`,
    });
    await c.e2ee.deletePrivateKey({ shareToken: SHARE });
    expect(ff.requests[1]).toMatchObject({
      method: 'DELETE',
      url: `${OCS}/v2/private-key?shareToken=${SHARE}&format=json`,
    });
    expect(ff.requests[1]!.headers['x-nc-e2ee-share-token']).toBeUndefined();
  });

  it('GET private-key: share token as HEADER', async () => {
    const { ff, c } = setup(ocsJson({ 'private-key': 'BLOB' }));
    expect(await c.e2ee.getPrivateKey({ shareToken: SHARE })).toBe('BLOB');
    expect(ff.last.url).toBe(`${OCS}/v2/private-key?format=json`);
    expect(ff.last.headers['x-nc-e2ee-share-token']).toBe(SHARE);
  });

  it('POST private-key: privateKey + shareToken parameters', async () => {
    const { ff, c } = setup(ocsJson({ 'private-key': 'a|b|c' }));
    await c.e2ee.storePrivateKey('a|b|c', { shareToken: SHARE });
    expect(form(ff.last.body)).toEqual({ privateKey: 'a|b|c', shareToken: SHARE });
    expect(ff.last.headers['x-nc-e2ee-share-token']).toBeUndefined();
  });

  it('GET server-key', async () => {
    const { ff, c } = setup(ocsJson({ 'public-key': '-----BEGIN PUBLIC KEY-----\n' }));
    expect(await c.e2ee.getServerKey()).toBe('-----BEGIN PUBLIC KEY-----\n');
    expect(ff.last.url).toBe(`${OCS}/v2/server-key?format=json`);
  });

  it('missing fields are server errors', async () => {
    const { c } = setup(ocsJson({ nope: 1 }));
    expect((await caught(c.e2ee.getServerKey())).kind).toBe('server');
  });
});

describe('encryption flag', () => {
  it('PUT encrypted/{id} (share token header), DELETE encrypted/{id}, DELETE encrypted-files', async () => {
    const { ff, c } = setup(ocsJson([]), ocsJson([]), ocsJson({ deletedIds: [12, 13] }));
    await c.e2ee.setEncrypted(ID, { shareToken: SHARE });
    expect(ff.requests[0]).toMatchObject({ method: 'PUT', url: `${OCS}/v2/encrypted/1212?format=json` });
    expect(ff.requests[0]!.headers['x-nc-e2ee-share-token']).toBe(SHARE);
    await c.e2ee.removeEncrypted(ID);
    expect(ff.requests[1]).toMatchObject({ method: 'DELETE', url: `${OCS}/v2/encrypted/1212?format=json` });
    expect(await c.e2ee.deleteAllEncryptedFiles()).toEqual(['12', '13']);
    expect(ff.requests[2]).toMatchObject({ method: 'DELETE', url: `${OCS}/v2/encrypted-files?format=json` });
  });
});

describe('metadata v2', () => {
  it('GET returns text and the X-NC-E2EE-SIGNATURE header; share token as header AND parameter', async () => {
    const md = ' {"metadata":{"ciphertext":"x\\/y"}}\r\n';
    const { ff, c } = setup(ocsJson({ 'meta-data': md }, 200, { 'X-NC-E2EE-SIGNATURE': 'U0lH' }));
    expect(await c.e2ee.getMetadata(ID, { shareToken: SHARE })).toEqual({ metadata: md, signature: 'U0lH' });
    expect(ff.last.url).toBe(`${OCS}/v2/meta-data/1212?shareToken=${SHARE}&format=json`);
    expect(ff.last.headers['x-nc-e2ee-share-token']).toBe(SHARE);
    common(ff.last.headers);
  });

  it('GET without signature header → empty signature', async () => {
    const { c } = setup(ocsJson({ 'meta-data': '{}' }));
    expect((await c.e2ee.getMetadata(ID)).signature).toBe('');
  });

  it('POST and PUT: token + signature headers, metaData form parameter', async () => {
    const md = '{"a":"b & c=d+e"}';
    const { ff, c } = setup(ocsJson({ 'meta-data': md }), ocsJson({ 'meta-data': md }));
    await c.e2ee.createMetadata(ID, md, 'SIG+/=', TOKEN);
    await c.e2ee.updateMetadata(ID, md, 'SIG+/=', TOKEN, { shareToken: SHARE });
    for (const [i, m] of [
      [0, 'POST'],
      [1, 'PUT'],
    ] as const) {
      const r = ff.requests[i]!;
      expect(r.method).toBe(m);
      expect(r.url).toBe(`${OCS}/v2/meta-data/1212?format=json`);
      expect(r.headers['e2e-token']).toBe(TOKEN);
      expect(r.headers['x-nc-e2ee-signature']).toBe('SIG+/=');
      expect(form(r.body)).toEqual({ metaData: md });
    }
    expect(ff.requests[1]!.headers['x-nc-e2ee-share-token']).toBe(SHARE);
  });

  it('DELETE: token header', async () => {
    const { ff, c } = setup(ocsJson([]));
    await c.e2ee.deleteMetadata(ID, TOKEN);
    expect(ff.last).toMatchObject({ method: 'DELETE', url: `${OCS}/v2/meta-data/1212?format=json` });
    expect(ff.last.headers['e2e-token']).toBe(TOKEN);
  });

  it('filedrop PUT: JSON string param + shareToken param; accepts main and 1.17.3 answers', async () => {
    const entries = { abc123: { ciphertext: 'x', nonce: 'n', authenticationTag: 't', users: [] } };
    const { ff, c } = setup(ocsJson({ filedrop: entries }), ocsJson([]));
    await c.e2ee.addFiledrop(ID, entries, { shareToken: SHARE });
    await c.e2ee.addFiledrop(ID, JSON.stringify(entries));
    expect(ff.requests[0]).toMatchObject({
      method: 'PUT',
      url: `${OCS}/v2/meta-data/1212/filedrop?format=json`,
    });
    expect(form(ff.requests[0]!.body)).toEqual({ filedrop: JSON.stringify(entries), shareToken: SHARE });
    expect(form(ff.requests[1]!.body)).toEqual({ filedrop: JSON.stringify(entries) });
  });

  it('409 / 412 / 403 on writes', async () => {
    const { c } = setup(
      ocsJson([], 409),
      ocsError(412, 'Folder is not locked', 'data'),
      ocsError(
        403,
        'You are not allowed to edit the file, make sure to first lock it, and then send the right token',
      ),
    );
    expect((await caught(c.e2ee.createMetadata(ID, '{}', 's', TOKEN))).kind).toBe('conflict');
    expect((await caught(c.e2ee.updateMetadata(ID, '{}', 's', TOKEN))).kind).toBe('conflict');
    expect((await caught(c.e2ee.createMetadata(ID, '{}', 's', TOKEN))).kind).toBe('permission');
  });
});

describe('lock v2', () => {
  it('lock: counter header, no body when not re-acquiring', async () => {
    const { ff, c } = setup(ocsJson({ 'e2e-token': TOKEN }));
    expect(await c.e2ee.lock(ID, 3)).toBe(TOKEN);
    expect(ff.last).toMatchObject({
      method: 'POST',
      url: `${OCS}/v2/lock/1212?format=json`,
      body: undefined,
    });
    expect(ff.last.headers['x-nc-e2ee-counter']).toBe('3');
    expect(ff.last.headers['e2e-token']).toBeUndefined();
    common(ff.last.headers);
  });

  it('re-acquire (G-3): token as form PARAMETER, not header; share token header + param (G-31, 1.17.3)', async () => {
    const { ff, c } = setup(ocsJson({ 'e2e-token': TOKEN }));
    await c.e2ee.lock(ID, 1, { token: TOKEN, shareToken: SHARE });
    expect(form(ff.last.body)).toEqual({ 'e2e-token': TOKEN, shareToken: SHARE });
    expect(ff.last.headers['e2e-token']).toBeUndefined();
    expect(ff.last.headers['x-nc-e2ee-share-token']).toBe(SHARE);
    expect(ff.last.url).toBe(`${OCS}/v2/lock/1212?format=json`);
  });

  it('rejects invalid counters before sending', async () => {
    const { ff, c } = setup();
    expect((await caught(c.e2ee.lock(ID, 0))).kind).toBe('counter');
    expect((await caught(c.e2ee.lock(ID, 1.5))).kind).toBe('counter');
    expect(ff.requests).toHaveLength(0);
  });

  it('lock errors: 423 locked, 412 conflict, 500 (NC 31 counter conflict) conflict with a note', async () => {
    const { c } = setup(
      ocsError(423, 'File already locked', 'data'),
      ocsError(412, 'The provided counter is smaller than the current counter.', 'data'),
      ocsError(500, 'Internal Server Error\n', 'meta', 996),
    );
    expect((await caught(c.e2ee.lock(ID, 2))).kind).toBe('locked');
    expect((await caught(c.e2ee.lock(ID, 2))).kind).toBe('conflict');
    const e = await caught(c.e2ee.lock(ID, 2));
    expect(e.kind).toBe('conflict');
    expect(e.detail).toContain('HTTP 500');
    expect(e.detail).toContain('counter conflict');
  });

  it('500 elsewhere stays a server error', async () => {
    const { c } = setup(ocsError(500, 'Internal Server Error\n', 'meta', 996));
    expect((await caught(c.e2ee.getMetadata(ID))).kind).toBe('server');
  });

  it('unlock: token header; abort=true query; shareToken header + query', async () => {
    const { ff, c } = setup(ocsJson([]), ocsJson([]));
    await c.e2ee.unlock(ID, TOKEN);
    expect(ff.requests[0]).toMatchObject({
      method: 'DELETE',
      url: `${OCS}/v2/lock/1212?format=json`,
      body: undefined,
    });
    expect(ff.requests[0]!.headers['e2e-token']).toBe(TOKEN);
    await c.e2ee.unlock(ID, TOKEN, { abort: true, shareToken: SHARE });
    expect(ff.requests[1]!.url).toBe(`${OCS}/v2/lock/1212?abort=true&shareToken=${SHARE}&format=json`);
    expect(ff.requests[1]!.headers['x-nc-e2ee-share-token']).toBe(SHARE);
  });

  it('unlock of a folder not locked: 403 (main) and 404 (1.17.3) → conflict; UA 403 stays e2ee-unavailable', async () => {
    const { c } = setup(
      ocsError(403, 'You are not allowed to remove the lock', 'data'),
      ocsError(404, 'File not locked', 'data'),
      ocsError(403, 'Client "x" is not allowed to access end-to-end encrypted content.'),
    );
    for (let i = 0; i < 2; i++) {
      const e = await caught(c.e2ee.unlock(ID, TOKEN));
      expect(e.kind).toBe('conflict');
      expect(e.detail).toContain('not locked by this token');
    }
    expect((await caught(c.e2ee.unlock(ID, TOKEN))).kind).toBe('e2ee-unavailable');
  });
});

describe('legacy v1 metadata and lock', () => {
  it('uses /api/v1 and the token as a PARAMETER for PUT', async () => {
    const { ff, c } = setup(
      ocsJson({ 'meta-data': '{"metadata":{"version":1}}' }),
      ocsJson({ 'meta-data': 'x' }),
      ocsJson({ 'e2e-token': TOKEN }),
      ocsJson([]),
      ocsJson([]),
      ocsJson({ 'meta-data': 'x' }),
    );
    expect(await c.e2ee.getMetadataV1(ID)).toBe('{"metadata":{"version":1}}');
    expect(ff.requests[0]!.url).toBe(`${OCS}/v1/meta-data/1212?format=json`);
    await c.e2ee.updateMetadataV1(ID, 'x', TOKEN);
    expect(ff.requests[1]).toMatchObject({ method: 'PUT', url: `${OCS}/v1/meta-data/1212?format=json` });
    expect(form(ff.requests[1]!.body)).toEqual({ metaData: 'x', 'e2e-token': TOKEN });
    expect(await c.e2ee.lockV1(ID, { token: TOKEN })).toBe(TOKEN);
    expect(ff.requests[2]).toMatchObject({ method: 'POST', url: `${OCS}/v1/lock/1212?format=json` });
    expect(form(ff.requests[2]!.body)).toEqual({ 'e2e-token': TOKEN });
    expect(ff.requests[2]!.headers['x-nc-e2ee-counter']).toBeUndefined();
    await c.e2ee.unlockV1(ID, TOKEN);
    expect(ff.requests[3]).toMatchObject({ method: 'DELETE', url: `${OCS}/v1/lock/1212?format=json` });
    expect(ff.requests[3]!.headers['e2e-token']).toBe(TOKEN);
    await c.e2ee.deleteMetadataV1(ID);
    expect(ff.requests[4]).toMatchObject({ method: 'DELETE', url: `${OCS}/v1/meta-data/1212?format=json` });
    await c.e2ee.createMetadataV1(ID, 'x');
    expect(ff.requests[5]).toMatchObject({ method: 'POST', url: `${OCS}/v1/meta-data/1212?format=json` });
    expect(form(ff.requests[5]!.body)).toEqual({ metaData: 'x' });
  });
});
