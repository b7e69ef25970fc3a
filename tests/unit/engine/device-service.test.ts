/**
 * DeviceService: two "devices" (each its own vault, AccountService and DeviceService) over the real WebDAV
 * transport against the Nextcloud stand-in. Approve, reject, expire (injected clock), single use, the
 * device list, and a server that tampers with the exchange (key swap, full man in the middle).
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromUtf8, randomBytes, utf8, type Bytes } from '../../../lib/crypto/bytes';
import {
  commitmentOf,
  deriveSessionKey,
  fileName,
  generateEphemeralKeyPair,
  isApprovalError,
  openSecret,
  parseAnswer,
  parseApproval,
  parseRequest,
  parseReveal,
  secretAad,
  transcriptHash,
  type ApprovalTransport,
} from '../../../lib/device-approval';
import { AccountService } from '../../../lib/engine/account-service';
import { MemoryAccountPrefs } from '../../../lib/engine/accounts/prefs';
import { DeviceService } from '../../../lib/engine/device-service';
import { DavApprovalTransport, DEVICES_DIR } from '../../../lib/engine/devices/dav-transport';
import { isCipherfoldError } from '../../../lib/errors';
import type { PendingApproval } from '../../../lib/messages/devices';
import { NextcloudClient } from '../../../lib/nextcloud';
import { openVault, type AccountId, type Clock, type Vault } from '../../../lib/vault';
import { startStandIn, type StandIn } from '../../server/index';

class TestClock implements Clock {
  t = Date.now();
  now = () => this.t;
  setTimeout = () => 0;
  clearTimeout = () => undefined;
  advance(ms: number) {
    this.t += ms;
  }
}

interface Dev {
  accounts: AccountService;
  devices: DeviceService;
  vault: Vault;
  id: string;
  /** Everything this device wrote to the relay (path → bytes), in order. */
  puts: { path: string; data: Bytes }[];
}

let n = 0;
let srv: StandIn;
let user = 'alice';

type Rewrite = (path: string, data: Bytes | null) => Bytes | null;

async function makeDevice(clock: TestClock, rewrite?: Rewrite): Promise<Dev> {
  const vault = await openVault(`devsvc-${process.pid}-${Date.now()}-${n++}`, { kdfIterations: 1000 });
  const accounts = new AccountService({ vault, prefs: new MemoryAccountPrefs(), clock });
  const puts: Dev['puts'] = [];
  const devices = new DeviceService({
    accounts,
    vault,
    clock,
    autoPoll: false,
    transportFor: (_id, dav) => wrap(dav, puts, rewrite),
  });
  const id = await accounts.connectManual(srv.url, user, `${user}-password`);
  return { accounts, devices, vault, id, puts };
}

function wrap(t: ApprovalTransport, puts: Dev['puts'], rewrite?: Rewrite): ApprovalTransport {
  return {
    async put(path, data, o) {
      puts.push({ path, data });
      return t.put(path, data, o);
    },
    async get(path) {
      const v = await t.get(path);
      return rewrite ? rewrite(path, v) : v;
    },
    list: (d) => t.list(d),
    delete: (p) => t.delete(p),
  };
}

/** A fresh user with keys set up on device A (trusted, unlocked). */
async function trustedDevice(clock: TestClock, rewrite?: Rewrite): Promise<Dev & { words: string[] }> {
  user = `u${n++}x${process.pid}`;
  srv.control.addUser({ id: user, password: `${user}-password` });
  const a = await makeDevice(clock, rewrite);
  const words = await a.accounts.setupFirstDevice(a.id, { colour: 'teal', symbol: 'star' });
  await a.accounts.confirmWords(a.id, 'session');
  return { ...a, words };
}

function relay(): DavApprovalTransport {
  return new DavApprovalTransport(
    new NextcloudClient({
      baseUrl: srv.url,
      auth: { loginName: user, appPassword: srv.control.createAppPassword(user) },
      userId: user,
    }),
  );
}

async function filesOf(requestId: string): Promise<string[]> {
  return (await relay().list('')).filter((name) => name.includes(requestId)).sort();
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

async function row(d: Dev, requestId: string): Promise<PendingApproval | undefined> {
  return (await d.devices.pending(true)).find((r) => r.requestId === requestId);
}

const START = {
  name: 'Work laptop',
  browser: 'Chromium 156',
  mode: 'session',
  mark: null,
  ttlSeconds: null,
} as const;

beforeAll(async () => {
  srv = await startStandIn();
});
afterAll(async () => {
  await srv.close();
});

describe('DeviceService over WebDAV', () => {
  it('approves a new device: same code on both, B unlocks with the words, lists, audits, cleans up', async () => {
    const clock = new TestClock();
    const a = await trustedDevice(clock);
    const b = await makeDevice(clock);
    expect((await b.accounts.status()).accounts[0]!.state).toBe('needs-keys');

    const started = await b.devices.startRequest(b.id, START);
    expect(started).toMatchObject({ step: 'waiting-for-answer', code: null });
    const requestId = started.requestId!;
    // The request sits in the user's own /.cipherfold/devices/ folder; only a commitment, no key yet.
    expect(await filesOf(requestId)).toEqual([fileName('request', requestId)]);
    const req = parseRequest((await relay().get(fileName('request', requestId)))!);
    expect(req.device).toEqual({ name: 'Work laptop', browser: 'Chromium 156' });

    const listed = await row(a, requestId);
    expect(listed).toMatchObject({ step: 'new', name: 'Work laptop', browser: 'Chromium 156', code: null });
    // The badge counts it.
    const badge: number[] = [];
    const a2 = new DeviceService({
      accounts: a.accounts,
      vault: a.vault,
      clock,
      autoPoll: false,
      onBadge: (c) => badge.push(c),
    });
    await a2.pending(true);
    expect(badge).toEqual([1]);

    expect((await a.devices.answer(a.id, requestId)).step).toBe('waiting-for-code');
    const onB = await b.devices.requestStatus(b.id);
    expect(onB.step).toBe('confirm-code');
    const onA = await row(a, requestId);
    expect(onA?.step).toBe('confirm-code');
    expect(onA?.code).toMatch(/^\d{3} \d{3}$/);
    expect(onA?.code).toBe(onB.code);

    expect((await b.devices.confirmRequest(b.id, requestId)).step).toBe('waiting-for-approval');
    const { deviceId } = await a.devices.approve(a.id, requestId);
    expect((await row(a, requestId))?.step).toBe('approved');
    const done = await b.devices.requestStatus(b.id);
    expect(done.step).toBe('approved');

    // B is unlocked exactly as after an unlock by words: keys in its vault, a session for the server.
    const st = (await b.accounts.status()).accounts[0]!;
    expect(st.state).toBe('unlocked');
    expect(b.accounts.sessionFor(srv.url)).toBeDefined();
    expect(await b.vault.revealWords(b.id as AccountId)).toEqual(a.words);
    await b.accounts.lock(b.id);
    await b.accounts.unlockWithWords(b.id, a.words, null, null); // the same words open B's vault later
    expect((await b.devices.listDevices(b.id))[0]).toMatchObject({
      deviceId,
      current: true,
      name: 'Work laptop',
    });

    // A lists B as approved; audit entries on both sides.
    expect(await a.devices.listDevices(a.id)).toEqual([
      expect.objectContaining({
        deviceId,
        name: 'Work laptop',
        browser: 'Chromium 156',
        forgotten: false,
        current: false,
      }),
    ]);
    const auditA = (await a.vault.readAudit(a.id as AccountId)).entries.map((e) => e.event);
    expect(auditA).toContainEqual({
      type: 'device-approved',
      requestId,
      deviceId,
      deviceName: 'Work laptop',
    });
    const auditB = (await b.vault.readAudit(b.id as AccountId)).entries.map((e) => e.event.type);
    expect(auditB).toContain('device-approval-requested');

    // Files: the new device deleted req/ans/rev/apv after decrypting.
    expect(await filesOf(requestId)).toEqual([]);
    // Nothing on the server carries the words in clear.
    for (const p of [...a.puts, ...b.puts]) expect(fromUtf8(p.data)).not.toContain(a.words[3]!);

    // Single use: the id is recorded as handled; answering it again is refused.
    expect(await a.vault.isRequestHandled(a.id as AccountId, requestId)).toBe(true);
    expect(isCipherfoldError(await errorOf(a.devices.answer(a.id, requestId)))).toBe(true);

    // Presence: B notes itself; A picks up the last-seen time.
    clock.advance(10 * 60_000);
    await b.devices.tick();
    await a.devices.tick();
    const seen = (await a.devices.listDevices(a.id))[0]!;
    expect(seen.lastSeen).toBeGreaterThan(seen.approvedAt);

    // Forget: marked, kept for the record, a new request with the same description is flagged.
    await a.devices.forget(a.id, deviceId);
    expect((await a.devices.listDevices(a.id))[0]).toMatchObject({ deviceId, forgotten: true });
    const c = await makeDevice(clock);
    const again = await c.devices.startRequest(c.id, START);
    expect((await row(a, again.requestId!))?.forgottenMatch).toBe(true);
    await c.devices.rejectRequest(c.id, again.requestId!);
  });

  it('rejects: before the code (from the list) and after it (codes differ); B stays locked, audited', async () => {
    const clock = new TestClock();
    const a = await trustedDevice(clock);
    const b = await makeDevice(clock);

    const r1 = (await b.devices.startRequest(b.id, START)).requestId!;
    expect((await row(a, r1))?.step).toBe('new');
    await a.devices.reject(a.id, r1, 'user');
    expect(await row(a, r1)).toBeUndefined();
    const v1 = await b.devices.requestStatus(b.id);
    expect(v1).toMatchObject({ step: 'rejected', message: expect.stringMatching(/declined/) });
    expect((await b.accounts.status()).accounts[0]!.state).toBe('needs-keys');
    expect((await filesOf(r1)).filter((f) => !f.startsWith('rej-'))).toEqual([]);

    // Second request: the user on B sees a different code (simulated) and says so.
    const r2 = (await b.devices.startRequest(b.id, START)).requestId!;
    await a.devices.answer(a.id, r2);
    expect((await b.devices.requestStatus(b.id)).step).toBe('confirm-code');
    expect((await b.devices.rejectRequest(b.id, r2)).step).toBe('rejected');
    const onA = await row(a, r2);
    expect(onA).toMatchObject({ step: 'rejected', message: expect.stringMatching(/codes differ/) });
    expect(isCipherfoldError(await errorOf(a.devices.approve(a.id, r2)))).toBe(true);
    expect(a.puts.some((p) => p.path === fileName('approval', r2))).toBe(false);
    expect((await b.accounts.status()).accounts[0]!.state).toBe('needs-keys');

    const events = (await a.vault.readAudit(a.id as AccountId)).entries.map((e) => e.event);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'device-rejected', requestId: r1, reason: 'user' }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'device-rejected', requestId: r2, reason: 'code-mismatch' }),
    );
    expect((await a.devices.listDevices(a.id)).length).toBe(0);
  });

  it('expires: after the time limit B ends cleanly (files gone) and A neither lists nor approves it', async () => {
    const clock = new TestClock();
    const a = await trustedDevice(clock);
    const b = await makeDevice(clock);
    const r = (await b.devices.startRequest(b.id, { ...START, ttlSeconds: 30 })).requestId!;
    await a.devices.answer(a.id, r);
    expect((await b.devices.requestStatus(b.id)).step).toBe('confirm-code');
    expect((await row(a, r))?.step).toBe('confirm-code');
    clock.advance(31_000);
    expect(await b.devices.requestStatus(b.id)).toMatchObject({
      step: 'expired',
      message: expect.stringMatching(/expired/),
    });
    expect(isCipherfoldError(await errorOf(a.devices.approve(a.id, r)))).toBe(true);
    expect((await row(a, r))?.step).toBe('rejected');
    expect((await filesOf(r)).filter((f) => !f.startsWith('rej-'))).toEqual([]);
    expect((await b.accounts.status()).accounts[0]!.state).toBe('needs-keys');

    // A request nobody answered disappears from the list after expiry.
    const r2 = (await b.devices.startRequest(b.id, { ...START, ttlSeconds: 30 })).requestId!;
    expect((await row(a, r2))?.step).toBe('new');
    clock.advance(31_000);
    expect(await row(a, r2)).toBeUndefined();
    expect((await b.devices.requestStatus(b.id)).step).toBe('expired');
  });

  it('MITM: the server swaps the requester key in the reveal → A refuses (commitment), nothing sent', async () => {
    const clock = new TestClock();
    const attacker = await generateEphemeralKeyPair();
    const a = await trustedDevice(clock, (path, data) => {
      if (!data || !path.startsWith('rev-')) return data;
      const o = JSON.parse(fromUtf8(data)) as Record<string, unknown>;
      o.publicKey = Buffer.from(attacker.publicKey).toString('base64');
      return utf8(JSON.stringify(o));
    });
    const b = await makeDevice(clock);
    const r = (await b.devices.startRequest(b.id, START)).requestId!;
    await a.devices.answer(a.id, r);
    await b.devices.requestStatus(b.id);
    const onA = await row(a, r);
    expect(onA).toMatchObject({ step: 'failed', code: null, message: expect.stringMatching(/intercepting/) });
    expect(a.puts.some((p) => p.path.startsWith('apv-'))).toBe(false);
    expect(await b.devices.requestStatus(b.id)).toMatchObject({
      step: 'rejected',
      message: expect.stringMatching(/altered on the way/),
    });
    const events = (await a.vault.readAudit(a.id as AccountId)).entries.map((e) => e.event);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'device-rejected', reason: 'code-mismatch' }),
    );
  });

  it('MITM with its own consistent keys: the two codes differ; the user stops it, nothing is sent', async () => {
    const clock = new TestClock();
    const m = await generateEphemeralKeyPair();
    const mNonce = randomBytes(32);
    const mCommit = await commitmentOf(m.publicKey, mNonce);
    const b64 = (x: Uint8Array) => Buffer.from(x).toString('base64');
    // The server shows A a request committed to the attacker's key, and a reveal of the attacker's key.
    const a = await trustedDevice(clock, (path, data) => {
      if (!data) return data;
      const o = JSON.parse(fromUtf8(data)) as Record<string, unknown>;
      if (path.startsWith('req-')) o.commitment = b64(mCommit);
      else if (path.startsWith('rev-')) {
        o.publicKey = b64(m.publicKey);
        o.nonce = b64(mNonce);
      } else return data;
      return utf8(JSON.stringify(o));
    });
    const b = await makeDevice(clock);
    const r = (await b.devices.startRequest(b.id, START)).requestId!;
    await a.devices.answer(a.id, r);
    const onB = await b.devices.requestStatus(b.id);
    const onA = await row(a, r);
    expect(onB.step).toBe('confirm-code');
    expect(onA?.step).toBe('confirm-code');
    expect(onA?.code).not.toBe(onB.code); // 1 in 10⁶ to match: the user sees different codes
    // The user on B says the codes differ; A learns it and cannot approve any more.
    await b.devices.rejectRequest(b.id, r);
    expect((await row(a, r))?.step).toBe('rejected');
    expect(isCipherfoldError(await errorOf(a.devices.approve(a.id, r)))).toBe(true);
    expect(a.puts.some((p) => p.path.startsWith('apv-'))).toBe(false);
  });

  it('a passive server that keeps every file of an honest approval cannot open the words', async () => {
    const clock = new TestClock();
    const a = await trustedDevice(clock);
    const b = await makeDevice(clock);
    const r = (await b.devices.startRequest(b.id, START)).requestId!;
    await a.devices.answer(a.id, r);
    await b.devices.requestStatus(b.id);
    await row(a, r);
    await b.devices.confirmRequest(b.id, r);
    await a.devices.approve(a.id, r);
    const find = (list: Dev['puts'], prefix: string) =>
      list.find((p) => p.path === `${prefix}-${r}.json`)!.data;
    const req = parseRequest(find(b.puts, 'req'));
    const ans = parseAnswer(find(a.puts, 'ans'));
    const rev = parseReveal(find(b.puts, 'rev'));
    const apv = parseApproval(find(a.puts, 'apv'));
    // The attacker has its own key pair only; with every public value it still derives the wrong key.
    const m = await generateEphemeralKeyPair();
    for (const peer of [ans.publicKey, rev.publicKey]) {
      const transcript = await transcriptHash({
        requestId: r,
        createdAt: req.createdAt,
        expiresAt: req.expiresAt,
        device: req.device,
        commitment: req.commitment,
        newDeviceKey: rev.publicKey,
        trustedDeviceKey: ans.publicKey,
        nonce: rev.nonce,
      });
      const k = await deriveSessionKey(m.privateKey, peer, r, transcript);
      const e = await errorOf(
        openSecret(k, secretAad(r, rev.publicKey, ans.publicKey), apv.iv, apv.ciphertext),
      );
      expect(isApprovalError(e, 'decrypt-failed')).toBe(true);
    }
    expect((await b.devices.requestStatus(b.id)).step).toBe('approved');
  });

  it('keeps the relay in /.cipherfold/devices and refuses names outside it; approval needs an unlocked device', async () => {
    const clock = new TestClock();
    const a = await trustedDevice(clock);
    const t = relay();
    await t.put('probe.json', utf8('{}'));
    const entries = await new NextcloudClient({
      baseUrl: srv.url,
      auth: { loginName: user, appPassword: srv.control.createAppPassword(user) },
      userId: user,
    }).dav.propfind(DEVICES_DIR, { depth: 1 });
    expect(entries.map((e) => e.name)).toContain('probe.json');
    expect(
      isCipherfoldError(await errorOf(t.put('probe.json', utf8('{}'), { create: true })), 'conflict'),
    ).toBe(true);
    expect(isCipherfoldError(await errorOf(t.get('../secret')), 'format')).toBe(true);
    await t.delete('probe.json');
    await t.delete('probe.json'); // missing: not an error
    expect(await t.get('probe.json')).toBeNull();

    const b = await makeDevice(clock);
    const r = (await b.devices.startRequest(b.id, START)).requestId!;
    await a.accounts.lock(a.id);
    expect(await a.devices.pending(true)).toEqual([]);
    const e = await errorOf(a.devices.answer(a.id, r));
    expect(isCipherfoldError(e, 'mnemonic')).toBe(true);
    // A device that is already unlocked does not ask.
    await a.accounts.unlockWithWords(a.id, a.words, null, null);
    expect(isCipherfoldError(await errorOf(a.devices.startRequest(a.id, START)), 'conflict')).toBe(true);
  });
});
