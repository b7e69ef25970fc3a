import { describe, expect, it } from 'vitest';
import { CipherfoldError } from '../../../lib/errors';
import { NextcloudClient } from '../../../lib/nextcloud/client';
import { asShareId } from '../../../lib/nextcloud/ids';
import { PERMISSION, SHARE_TYPE } from '../../../lib/nextcloud/types';
import { FakeFetch, form, ocsError, ocsJson } from './fake-fetch';

const BASE = 'https://h';
const SHARES = `${BASE}/ocs/v2.php/apps/files_sharing/api/v1/shares`;

function setup(...responses: Response[]): { ff: FakeFetch; c: NextcloudClient } {
  const ff = new FakeFetch().reply(...responses);
  return {
    ff,
    c: new NextcloudClient({ baseUrl: BASE, auth: { loginName: 'a', appPassword: 'b' }, fetch: ff.fetch }),
  };
}

/** Shaped like a real files_sharing OCS share object. */
const USER_SHARE = {
  id: '17',
  share_type: 0,
  uid_owner: 'alice',
  displayname_owner: 'Alice',
  permissions: 31,
  can_edit: true,
  stime: 1764756000,
  parent: null,
  expiration: null,
  token: null,
  uid_file_owner: 'alice',
  note: '',
  label: null,
  path: '/sharef',
  item_type: 'folder',
  item_source: 1212,
  file_source: 1212,
  file_parent: 2,
  file_target: '/sharef',
  share_with: 'bob',
  share_with_displayname: 'Bob',
  mail_send: 0,
  hide_download: 0,
};
const LINK_SHARE = {
  ...USER_SHARE,
  id: 18,
  share_type: 3,
  share_with: null,
  permissions: 1,
  token: 'aBcD1234xYz',
  url: 'https://h/s/aBcD1234xYz',
};

describe('shares', () => {
  it('create a user share', async () => {
    const { ff, c } = setup(ocsJson(USER_SHARE));
    const s = await c.shares.create({
      path: 'sharef/',
      shareType: SHARE_TYPE.user,
      shareWith: 'bob',
      permissions: PERMISSION.all,
    });
    expect(s).toEqual({
      id: '17',
      shareType: 0,
      shareWith: 'bob',
      permissions: 31,
      token: undefined,
      path: '/sharef',
      fileId: '1212',
      itemType: 'folder',
      uidOwner: 'alice',
      uidFileOwner: 'alice',
      url: undefined,
    });
    expect(ff.last).toMatchObject({ method: 'POST', url: `${SHARES}?format=json` });
    expect(ff.last.headers['ocs-apirequest']).toBe('true');
    expect(form(ff.last.body)).toEqual({
      path: '/sharef',
      shareType: '0',
      shareWith: 'bob',
      permissions: '31',
    });
  });

  it('create a link share (numeric id, token)', async () => {
    const { ff, c } = setup(ocsJson(LINK_SHARE));
    const s = await c.shares.create({
      path: '/sharef',
      shareType: SHARE_TYPE.link,
      permissions: PERMISSION.read,
    });
    expect(s).toMatchObject({
      id: '18',
      shareType: 3,
      shareWith: undefined,
      token: 'aBcD1234xYz',
      url: 'https://h/s/aBcD1234xYz',
    });
    expect(form(ff.last.body)).toEqual({ path: '/sharef', shareType: '3', permissions: '1' });
  });

  it('list, get, update permissions, delete', async () => {
    const { ff, c } = setup(
      ocsJson([USER_SHARE, LINK_SHARE]),
      ocsJson([USER_SHARE]),
      ocsJson({ ...USER_SHARE, permissions: 1 }),
      ocsJson([]),
    );
    const list = await c.shares.list({ path: '/sharef', reshares: true, subfiles: false });
    expect(list.map((s) => s.id)).toEqual(['17', '18']);
    expect(ff.last).toMatchObject({
      method: 'GET',
      url: `${SHARES}?path=%2Fsharef&reshares=true&subfiles=false&format=json`,
    });
    expect((await c.shares.get(asShareId('17'))).shareWith).toBe('bob');
    expect(ff.last).toMatchObject({ method: 'GET', url: `${SHARES}/17?format=json` });
    expect((await c.shares.updatePermissions(asShareId('17'), 1)).permissions).toBe(1);
    expect(ff.last).toMatchObject({ method: 'PUT', url: `${SHARES}/17?format=json` });
    expect(form(ff.last.body)).toEqual({ permissions: '1' });
    await c.shares.delete(asShareId('17'));
    expect(ff.last).toMatchObject({ method: 'DELETE', url: `${SHARES}/17?format=json` });
  });

  it('malformed share objects are server errors; 404 is not-found', async () => {
    const { c } = setup(
      ocsJson({ share_type: 0 }),
      ocsJson({ nope: 1 }),
      ocsError(404, 'Wrong share ID, share does not exist'),
    );
    await expect(c.shares.create({ path: '/x', shareType: 0, shareWith: 'b' })).rejects.toMatchObject({
      kind: 'server',
    });
    await expect(c.shares.list()).rejects.toMatchObject({ kind: 'server' });
    await expect(c.shares.get(asShareId('9'))).rejects.toMatchObject({ kind: 'not-found' });
  });

  it('sharee search: URL with shareType[] and typed results (exact first, deduplicated)', async () => {
    const { ff, c } = setup(
      ocsJson({
        exact: {
          users: [{ label: 'Bob', value: { shareType: 0, shareWith: 'bob' } }],
          groups: [],
          remotes: [],
        },
        users: [
          { label: 'Bob', value: { shareType: 0, shareWith: 'bob' } },
          { label: 'Bobby', icon: 'icon-user', value: { shareType: 0, shareWith: 'bobby' } },
        ],
        groups: [],
        lookupEnabled: false,
      }),
    );
    const r = await c.shares.searchSharees('bo b&');
    expect(ff.last.url).toBe(
      `${BASE}/ocs/v2.php/apps/files_sharing/api/v1/sharees?search=bo%20b%26&itemType=folder&shareType[]=0&format=json`,
    );
    expect(r).toEqual([
      { shareWith: 'bob', shareType: 0, label: 'Bob', exact: true },
      { shareWith: 'bobby', shareType: 0, label: 'Bobby', exact: false },
    ]);
  });
});

describe('provisioning', () => {
  it('create and delete a user', async () => {
    const { ff, c } = setup(ocsJson({ id: 'e2p1' }), ocsJson([]));
    expect(await c.users.createUser('e2p1', 'pw & more')).toBe('e2p1');
    expect(ff.last).toMatchObject({ method: 'POST', url: `${BASE}/ocs/v2.php/cloud/users?format=json` });
    expect(form(ff.last.body)).toEqual({ userid: 'e2p1', password: 'pw & more' });
    await c.users.deleteUser('e2p 1');
    expect(ff.last).toMatchObject({
      method: 'DELETE',
      url: `${BASE}/ocs/v2.php/cloud/users/e2p%201?format=json`,
    });
  });

  it('errors never echo the password', async () => {
    const { c } = setup(ocsError(400, 'password pw-secret is too weak'));
    let err: CipherfoldError | undefined;
    try {
      await c.users.createUser('x', 'pw-secret');
    } catch (e) {
      err = e as CipherfoldError;
    }
    expect(err?.kind).toBe('server');
    expect(err?.message).not.toContain('pw-secret');
  });
});
