/**
 * AccountService against the Nextcloud stand-in, with the vault on fake-indexeddb: connect, first device,
 * further device by words, lock / idle lock, engine restart (remember vs session), reveal words, TOFU of
 * the server key, disconnect with revocation.
 */
import 'fake-indexeddb/auto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountService } from '../../../lib/engine/account-service';
import { MemoryAccountPrefs } from '../../../lib/engine/accounts/prefs';
import { isCipherfoldError } from '../../../lib/errors';
import { openVault, type Clock, type Vault } from '../../../lib/vault';
import { startStandIn, type StandIn } from '../../server/index';

const MARK = { colour: 'teal', symbol: 'star' } as const;

let n = 0;
const dbName = () => `acct-test-${process.pid}-${Date.now()}-${n++}`;

class FakeClock implements Clock {
  t = 1_700_000_000_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 1;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (h: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== h);
  };
  advance(ms: number) {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const d of due) d.fn();
  }
}

interface DeviceUnderTest {
  service: AccountService;
  vault: Vault;
  name: string;
  prefs: MemoryAccountPrefs;
  clock: FakeClock;
}

async function device(name = dbName(), prefs = new MemoryAccountPrefs()): Promise<DeviceUnderTest> {
  const vault = await openVault(name, { kdfIterations: 1000 });
  const clock = new FakeClock();
  return { service: new AccountService({ vault, prefs, clock }), vault, name, prefs, clock };
}

async function kindOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (isCipherfoldError(e)) return e.kind;
    throw e;
  }
}

async function errorOf(p: Promise<unknown>): Promise<{ kind: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isCipherfoldError(e)) return { kind: e.kind, message: e.message };
    throw e;
  }
  throw new Error('expected an error');
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('AccountService', () => {
  let srv: StandIn;
  let plain: http.Server;
  let plainUrl: string;

  beforeAll(async () => {
    srv = await startStandIn();
    plain = http.createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>not here</h1>');
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await srv.close();
    await new Promise((r) => plain.close(r));
  });

  it('checks the server: Nextcloud, not a Nextcloud, unreachable', async () => {
    const { service } = await device();
    await expect(service.checkServer(`${srv.url}/index.php/apps/files/`)).resolves.toMatchObject({
      serverUrl: srv.url,
      origin: srv.url,
      version: '31.0.6',
    });
    const notNc = await errorOf(service.checkServer(plainUrl));
    expect(notNc.kind).toBe('not-found');
    expect(notNc.message).toMatch(/does not look like a Nextcloud server.*status\.php/);
    // A port nobody listens on.
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const unreachable = await errorOf(service.checkServer(`http://127.0.0.1:${port}`));
    expect(unreachable.kind).toBe('network');
    expect(unreachable.message).toMatch(/could not be reached/);
    expect(await kindOf(service.checkServer('ftp://x.example'))).toBe('format');
  });

  it('refuses a server where end-to-end encryption is not available for the user', async () => {
    const { service, vault } = await device();
    const rule = srv.control.forceStatus({
      method: 'GET',
      path: /\/cloud\/capabilities/,
      status: 200,
      body: JSON.stringify({ ocs: { meta: { status: 'ok', statuscode: 200 }, data: { capabilities: {} } } }),
      headers: { 'content-type': 'application/json' },
    });
    try {
      const e = await errorOf(service.connectManual(srv.url, 'carol', 'carol-password'));
      expect(e.kind).toBe('e2ee-unavailable');
      expect(e.message).toMatch(/"End-to-end encryption" app is missing, disabled/);
    } finally {
      srv.control.clearRule(rule);
    }
    expect(await vault.listAccounts()).toEqual([]);
  });

  it('first device, confirmation, lock/unlock, idle lock, reveal, restart, second device, disconnect', async () => {
    const a = await device();
    // Manual form with the login password: exchanged for an app password, the password is not stored.
    const id = await a.service.connectManual(srv.url, 'alice', 'alice-password');
    expect(id).toBe(`alice@${srv.url}`);
    expect(await a.vault.getAppPassword(id as never)).not.toBe('alice-password');
    expect(await kindOf(a.service.connectManual(srv.url, 'alice', 'wrong'))).toBe('auth');
    let st = await a.service.status();
    expect(st).toMatchObject({
      locked: true,
      accounts: [{ accountId: id, state: 'needs-keys', mark: null }],
    });
    expect(await a.service.keyState(id)).toBe('none');

    const changes: number[] = [];
    a.service.onChange(() => changes.push(1));
    const words = await a.service.setupFirstDevice(id, MARK);
    expect(words).toHaveLength(12);
    st = await a.service.status();
    expect(st.accounts[0]).toMatchObject({
      state: 'unlocked',
      wordsPending: true,
      mode: 'remember',
      mark: MARK,
    });
    expect(changes.length).toBeGreaterThan(0);
    expect(a.service.sessionFor(srv.url)).toBeDefined();
    expect(a.service.sessionFor('http://other.example')).toBeUndefined();
    expect(await a.service.keyState(id)).toBe('local');
    // The server has both halves now.
    expect(srv.control.requests.some((r) => r.method === 'POST' && /private-key/.test(r.path))).toBe(true);
    // Resume: the same words again while unconfirmed; not after.
    expect(await a.service.pendingWords(id)).toEqual(words);
    await a.service.confirmWords(id, 'session');
    expect((await a.service.status()).accounts[0]).toMatchObject({ wordsPending: false, mode: 'session' });
    expect(await kindOf(a.service.pendingWords(id))).toBe('permission');

    // Reveal: only with the Nextcloud password.
    const wrongPw = await errorOf(a.service.revealWords(id, 'nope'));
    expect(wrongPw.kind).toBe('auth');
    expect(await a.service.revealWords(id, 'alice-password')).toEqual(words);

    // Lock / wrong words / unlock.
    await a.service.lock(id);
    expect(a.service.sessionFor(srv.url)).toBeUndefined();
    expect((await a.service.status()).accounts[0]!.state).toBe('locked');
    expect(await kindOf(a.service.revealWords(id, 'alice-password'))).toBe('mnemonic');
    const wrong = [...words];
    wrong[0] = wrong[0] === 'zoo' ? 'abandon' : 'zoo';
    const bad = await errorOf(a.service.unlockWithWords(id, wrong, null, null));
    expect(bad).toEqual({
      kind: 'mnemonic',
      message: expect.stringMatching(/^These words don't open your key\./),
    });
    expect(await kindOf(a.service.unlockWithWords(id, ['abandon'], null, null))).toBe('mnemonic');
    const ok = await a.service.unlockWithWords(id, words, null, null);
    expect(ok.kdf).toMatch(/vault/);
    expect(a.service.sessionFor(srv.url)).toBeDefined();

    // Idle lock after the configured seconds without activity.
    await a.service.setAutoLock(id, 5);
    expect(await a.service.settings(id)).toMatchObject({ autoLockSeconds: 5, mode: 'session', mark: MARK });
    a.clock.advance(4000);
    expect(a.service.sessionFor(srv.url)).toBeDefined(); // activity re-arms
    a.clock.advance(4000);
    expect(a.service.sessionFor(srv.url)).toBeDefined();
    a.clock.advance(5001);
    await settle();
    expect((await a.service.status()).accounts[0]!.state).toBe('locked');

    // Engine restart, "this session only": locked afterwards.
    await a.service.unlockWithWords(id, words, 'session', null);
    let restarted = new AccountService({
      vault: await openVault(a.name, { kdfIterations: 1000 }),
      prefs: a.prefs,
    });
    expect((await restarted.status()).accounts[0]!.state).toBe('locked');
    // "Remember on this device": unlocked again after a restart, unless locked explicitly.
    await a.service.setMode(id, 'remember');
    restarted = new AccountService({
      vault: await openVault(a.name, { kdfIterations: 1000 }),
      prefs: a.prefs,
    });
    expect((await restarted.status()).accounts[0]!.state).toBe('unlocked');
    expect(restarted.sessionFor(srv.url)).toBeDefined();
    await restarted.lock(null);
    restarted = new AccountService({
      vault: await openVault(a.name, { kdfIterations: 1000 }),
      prefs: a.prefs,
    });
    expect((await restarted.status()).accounts[0]!.state).toBe('locked');
    await restarted.unlockStored(id);
    expect((await restarted.status()).accounts[0]!.state).toBe('unlocked');

    // A second device adds itself with the words (fetch wrapped key + certificate, all checks).
    const b = await device();
    const idB = await b.service.connectManual(srv.url, 'alice', srv.control.createAppPassword('alice'));
    expect(await b.service.keyState(idB)).toBe('complete');
    expect((await errorOf(b.service.unlockWithWords(idB, wrong, 'session', MARK))).message).toMatch(
      /^These words don't open your key/,
    );
    const opened = await b.service.unlockWithWords(idB, words, 'session', MARK);
    expect(opened.kdf).toBe('SHA-256/600000');
    expect((await b.service.status()).accounts[0]).toMatchObject({ state: 'unlocked', mark: MARK });

    // The server key changes: a loud error on a device that pinned the old one.
    const c = await device();
    const idC = await c.service.connectManual(srv.url, 'alice', srv.control.createAppPassword('alice'));
    expect(await c.service.keyState(idC)).toBe('complete'); // pins the key
    const { publicKey } = await crypto.subtle.generateKey(
      {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      },
      true,
      ['sign', 'verify'],
    );
    const spki = Buffer.from(await crypto.subtle.exportKey('spki', publicKey)).toString('base64');
    srv.control.swapServerKey(
      `-----BEGIN PUBLIC KEY-----\n${spki.match(/.{1,64}/g)!.join('\n')}\n-----END PUBLIC KEY-----\n`,
    );
    try {
      const swapped = await errorOf(c.service.unlockWithWords(idC, words, null, null));
      expect(swapped.kind).toBe('certificate');
      expect(swapped.message).toMatch(/server's encryption key is not the one this device saw before/);
    } finally {
      srv.control.swapServerKey(null);
    }

    // Disconnect device B with revocation: its app password stops working, its data is gone.
    const bPassword = await b.vault.getAppPassword(idB as never);
    const gone = await b.service.disconnect(idB, true);
    expect(gone).toEqual({ origin: srv.url, revoked: true, revokeError: null, originInUse: false });
    expect(await b.vault.listAccounts()).toEqual([]);
    const res = await fetch(`${srv.url}/ocs/v2.php/cloud/user?format=json`, {
      headers: { 'OCS-APIRequest': 'true', Authorization: `Basic ${btoa(`alice:${bPassword}`)}` },
    });
    expect(res.status).toBe(401);
    expect(b.service.sessionFor(srv.url)).toBeUndefined();
  }, 60_000);

  it('refuses to set up keys twice and explains what to do', async () => {
    const d = await device();
    const id = await d.service.connectManual(srv.url, 'alice', srv.control.createAppPassword('alice'));
    const e = await errorOf(d.service.setupFirstDevice(id, MARK));
    expect(e.kind).toBe('conflict');
    expect(e.message).toMatch(/Add this device with your 12 recovery words/);
  });
});
