import { ACCOUNT, OTHER_WORDS, WORDS, clock, fakePem, freshVault } from './helpers';
import { describe, expect, it } from 'vitest';
import { openDB } from 'idb';
import { isCipherfoldError } from '../../../lib/errors';
import { equalBytes, randomBytes, utf8 } from '../../../lib/crypto/bytes';
import {
  MemoryKeyStore,
  accountIdOf,
  isVaultLocked,
  openVault,
  parseAccountId,
  type AccountId,
  type Vault,
} from '../../../lib/vault';

async function expectKind(p: Promise<unknown>, kind: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isCipherfoldError(e), String(e)).toBe(true);
  expect((e as { kind: string }).kind).toBe(kind);
}

async function withKeys(vault: Vault, pkcs8 = randomBytes(1200)) {
  const acc = await vault.createAccount(ACCOUNT);
  const cert = fakePem();
  await vault.setKeys(acc.id, {
    words: WORDS,
    privateKeyPkcs8: pkcs8,
    certificatePem: cert,
    source: 'generated',
  });
  return { id: acc.id, pkcs8, cert };
}

/** Searches every stored record (as raw IndexedDB values) for a byte sequence or string. */
async function rawDbContains(name: string, needle: Uint8Array): Promise<boolean> {
  const db = await openDB(name);
  let found = false;
  const visit = (v: unknown): void => {
    if (v instanceof Uint8Array) {
      for (let i = 0; i + needle.length <= v.length && !found; i++) {
        if (equalBytes(v.subarray(i, i + needle.length), needle)) found = true;
      }
    } else if (typeof v === 'string') {
      if (v.includes(new TextDecoder().decode(needle))) found = true;
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object' && !(v instanceof CryptoKey)) Object.values(v).forEach(visit);
  };
  for (const store of db.objectStoreNames) for (const v of await db.getAll(store)) visit(v);
  db.close();
  return found;
}

describe('account ids', () => {
  it('is userId@origin and parses back, keeping @ in user ids', () => {
    const id = accountIdOf('bob@corp.example', 'https://cloud.example.org:8443/nc/index.php');
    expect(id).toBe('bob@corp.example@https://cloud.example.org:8443');
    expect(parseAccountId(id)).toEqual({
      userId: 'bob@corp.example',
      origin: 'https://cloud.example.org:8443',
      id,
    });
  });
  it('rejects non-http URLs and empty user ids', () => {
    expect(() => accountIdOf('bob', 'javascript:alert(1)')).toThrow();
    expect(() => accountIdOf('', 'https://x.example')).toThrow();
    expect(() => parseAccountId('nobody')).toThrow();
  });
});

describe('accounts', () => {
  it('creates, lists, refuses duplicates, and hides the app password', async () => {
    const { vault, name } = await freshVault();
    const acc = await vault.createAccount(ACCOUNT);
    expect(acc.id).toBe('alice@example.org@https://cloud.example.org');
    expect(acc.serverUrl).toBe('https://cloud.example.org/nextcloud');
    expect(acc.hasKeys).toBe(false);
    expect(JSON.stringify(acc)).not.toContain(ACCOUNT.appPassword);
    expect(await vault.listAccounts()).toHaveLength(1);
    await expectKind(vault.createAccount(ACCOUNT), 'conflict');
    expect(await vault.getAppPassword(acc.id)).toBe(ACCOUNT.appPassword);
    expect(await rawDbContains(name, utf8(ACCOUNT.displayName))).toBe(true); // the search works
    expect(await rawDbContains(name, utf8(ACCOUNT.appPassword))).toBe(false);
    await vault.setAppPassword(acc.id, 'new-pass');
    expect(await vault.getAppPassword(acc.id)).toBe('new-pass');
    vault.close();
  });

  it('keeps the app password readable while locked and across reopen (device key)', async () => {
    const { vault, name } = await freshVault();
    const { id } = await withKeys(vault);
    await vault.lock(id);
    expect(await vault.getAppPassword(id)).toBe(ACCOUNT.appPassword);
    vault.close();
    const again = await openVault(name);
    expect(await again.getAppPassword(id)).toBe(ACCOUNT.appPassword);
    again.close();
  });

  it('a lost device key makes the app password unreadable with an auth error', async () => {
    const { vault, name } = await freshVault({ keyStore: new MemoryKeyStore() });
    const acc = await vault.createAccount(ACCOUNT);
    vault.close();
    const again = await openVault(name, { keyStore: new MemoryKeyStore() });
    await expectKind(again.getAppPassword(acc.id), 'auth');
    again.close();
  });
});

describe('keys, unlock, lock, reveal', () => {
  it('stores no plaintext secret: private key and words are wrapped', async () => {
    const { vault, name } = await freshVault();
    const { pkcs8 } = await withKeys(vault);
    expect(await rawDbContains(name, pkcs8.subarray(100, 132))).toBe(false);
    expect(await rawDbContains(name, utf8('-----BEGIN CERTIFICATE'))).toBe(true); // the search works
    expect(await rawDbContains(name, utf8('absurd'))).toBe(false);
    vault.close();
  });

  it('unlocks with the right words (any case and spacing) and refuses wrong ones with a mnemonic error', async () => {
    const { vault } = await freshVault();
    const { id, pkcs8, cert } = await withKeys(vault);
    expect(vault.isUnlocked(id)).toBe(true);
    await vault.lock(id);
    expect(vault.isUnlocked(id)).toBe(false);
    await expectKind(vault.unlock(id, OTHER_WORDS), 'mnemonic');
    await expectKind(vault.unlock(id, WORDS.slice(0, 11)), 'mnemonic');
    expect(vault.isUnlocked(id)).toBe(false);
    const u = await vault.unlock(id, '  ' + WORDS.join('   ').toUpperCase() + '\n');
    expect(equalBytes(u.privateKeyPkcs8, pkcs8)).toBe(true);
    expect(u.certificatePem).toBe(cert);
    expect(await vault.getOwnCertificate(id)).toBe(cert);
    vault.close();
  });

  it('lock zeroes the in-memory key and makes key access fail as "locked"', async () => {
    const { vault } = await freshVault();
    const { id } = await withKeys(vault);
    const events: boolean[] = [];
    vault.onLockChange((_a, locked) => events.push(locked));
    const copy = vault.unlocked(id).privateKeyPkcs8;
    await vault.lock(id);
    expect(copy.some((b) => b !== 0)).toBe(true); // callers' copies are theirs
    let err: unknown;
    try {
      vault.unlocked(id);
    } catch (e) {
      err = e;
    }
    expect(isVaultLocked(err)).toBe(true);
    await expect(vault.revealWords(id)).rejects.toSatisfy(isVaultLocked);
    expect(events).toEqual([true]);
    vault.close();
  });

  it('reveals the words only while unlocked, and audits it', async () => {
    const { vault } = await freshVault();
    const { id } = await withKeys(vault);
    expect(await vault.revealWords(id)).toEqual(WORDS);
    const audit = await vault.readAudit(id);
    expect(audit.entries.map((e) => e.event.type)).toContain('words-revealed');
    vault.close();
  });

  it('uses PBKDF2-SHA256 with 600 000 iterations and a 32-byte salt by default', async () => {
    const { vault, name } = await freshVault({ kdfIterations: undefined });
    const { id, pkcs8 } = await withKeys(vault);
    const db = await openDB(name);
    const rec = (await db.get('keys', id)) as { kdf: { iterations: number; hash: string; salt: Uint8Array } };
    db.close();
    expect(rec.kdf.iterations).toBe(600_000);
    expect(rec.kdf.hash).toBe('SHA-256');
    expect(rec.kdf.salt.length).toBe(32);
    await vault.lock(id);
    expect(equalBytes((await vault.unlock(id, WORDS)).privateKeyPkcs8, pkcs8)).toBe(true);
    vault.close();
  });

  it('a wrapped secret moved to another account does not open (AAD binds the account)', async () => {
    const { vault, name } = await freshVault();
    const a = await withKeys(vault);
    const b = await vault.createAccount({ ...ACCOUNT, userId: 'bob' });
    await vault.setKeys(b.id, {
      words: WORDS,
      privateKeyPkcs8: randomBytes(50),
      certificatePem: fakePem(),
      source: 'imported',
    });
    const db = await openDB(name);
    const ka = await db.get('keys', a.id);
    const kb = await db.get('keys', b.id);
    await db.put('keys', { ...kb, privateKey: ka.privateKey, kdf: ka.kdf });
    db.close();
    await vault.lock();
    await expectKind(vault.unlock(b.id, WORDS), 'mnemonic');
    vault.close();
  });
});

describe('modes', () => {
  it('"remember" keeps the derived key on the device; "session" forgets it', async () => {
    const { vault, name } = await freshVault();
    const { id, pkcs8 } = await withKeys(vault);
    expect(await vault.unlockWithStoredKey(id)).toBeNull();
    await vault.setMode(id, 'remember');
    vault.close();

    const v2 = await openVault(name, { kdfIterations: 1000 });
    expect(v2.isUnlocked(id)).toBe(false);
    const u = await v2.unlockWithStoredKey(id);
    expect(u && equalBytes(u.privateKeyPkcs8, pkcs8)).toBe(true);
    expect((await v2.getSettings(id)).mode).toBe('remember');
    await v2.setMode(id, 'session');
    v2.close();

    const v3 = await openVault(name, { kdfIterations: 1000 });
    expect(await v3.unlockWithStoredKey(id)).toBeNull();
    v3.close();
  });

  it('"session": the caller keeps the key in memory and can unlock again with it', async () => {
    const { vault } = await freshVault();
    const { id, pkcs8 } = await withKeys(vault);
    const key = vault.getSessionKey(id)!;
    expect(key.extractable).toBe(false);
    await vault.lock(id);
    expect(vault.getSessionKey(id)).toBeUndefined();
    const u = await vault.unlockWithStoredKey(id, key);
    expect(u && equalBytes(u.privateKeyPkcs8, pkcs8)).toBe(true);
    vault.close();
  });

  it('"remember" when words are entered later stores the key; a stale key is dropped', async () => {
    const store = new MemoryKeyStore();
    const { vault } = await freshVault({ keyStore: store });
    const acc = await vault.createAccount({ ...ACCOUNT, mode: 'remember' });
    await vault.setKeys(acc.id, {
      words: WORDS,
      privateKeyPkcs8: randomBytes(64),
      certificatePem: fakePem(),
      source: 'imported',
    });
    expect(await store.get(`words:${acc.id}`)).toBeDefined();
    // keys replaced (e.g. re-imported with other words): the remembered key no longer opens
    await vault.setMode(acc.id, 'session');
    await vault.setMode(acc.id, 'remember');
    const stale = (await store.get(`words:${acc.id}`))!;
    await vault.setKeys(acc.id, {
      words: OTHER_WORDS,
      privateKeyPkcs8: randomBytes(64),
      certificatePem: fakePem(),
      source: 'imported',
    });
    await vault.lock(acc.id);
    await store.put(`words:${acc.id}`, stale);
    await expectKind(vault.unlockWithStoredKey(acc.id), 'mnemonic');
    expect(await store.get(`words:${acc.id}`)).toBeUndefined();
    vault.close();
  });

  it('switching to "remember" requires the vault unlocked', async () => {
    const { vault } = await freshVault();
    const { id } = await withKeys(vault);
    await vault.lock(id);
    await expect(vault.setMode(id, 'remember')).rejects.toSatisfy(isVaultLocked);
    vault.close();
  });

  it('settings: defaults, validation, security mark', async () => {
    const { vault } = await freshVault();
    const acc = await vault.createAccount(ACCOUNT);
    expect(await vault.getSettings(acc.id)).toEqual({
      accountId: acc.id,
      autoLockMinutes: 15,
      mode: 'session',
    });
    await vault.updateSettings(acc.id, {
      autoLockMinutes: 5,
      securityMark: { colour: 'teal', symbol: 'star' },
    });
    expect((await vault.getSettings(acc.id)).autoLockMinutes).toBe(5);
    await expectKind(vault.updateSettings(acc.id, { autoLockMinutes: -1 }), 'format');
    await expectKind(vault.updateSettings(acc.id, { autoLockMinutes: 1.5 }), 'format');
    vault.close();
  });
});

describe('TOFU pins', () => {
  it('server key: pinned, same (any PEM formatting), changed (never silently accepted), accept', async () => {
    const { vault } = await freshVault();
    const acc = await vault.createAccount(ACCOUNT);
    const k1 = fakePem('PUBLIC KEY');
    const k2 = fakePem('PUBLIC KEY');
    expect(await vault.pinServerKey(acc.id, k1)).toBe('pinned');
    expect(await vault.pinServerKey(acc.id, k1.replace(/\n/g, '\r\n').trimEnd())).toBe('same');
    const r = await vault.pinServerKey(acc.id, k2);
    expect(r).toMatchObject({ changed: { old: k1, new: k2 } });
    expect(await vault.pinServerKey(acc.id, k2)).toMatchObject({ changed: { old: k1 } }); // still not accepted
    expect(await vault.getServerKey(acc.id)).toBe(k1);
    await vault.acceptServerKey(acc.id, k2);
    expect(await vault.pinServerKey(acc.id, k2)).toBe('same');
    expect(typeof (await vault.pinServerKey(acc.id, k1))).toBe('object');
    const types = (await vault.readAudit(acc.id)).entries.map((e) => e.event);
    const changes = types.filter((e) => e.type === 'server-key-changed');
    // one "detected" per distinct change (not per fetch), one "accepted"
    expect(changes.map((e) => (e as { accepted: boolean }).accepted)).toEqual([false, true, false]);
    vault.close();
  });

  it('user certificates are pinned per (account, user id)', async () => {
    const { vault } = await freshVault();
    const acc = await vault.createAccount(ACCOUNT);
    const c1 = fakePem();
    const c2 = fakePem();
    expect(await vault.pinCertificate(acc.id, 'bob', c1)).toBe('pinned');
    expect(await vault.pinCertificate(acc.id, 'carol', c2)).toBe('pinned');
    expect(await vault.pinCertificate(acc.id, 'bob', c1)).toBe('same');
    const r = await vault.pinCertificate(acc.id, 'bob', c2);
    expect(r).not.toBe('same');
    expect(await vault.getCertificate(acc.id, 'bob')).toBe(c1);
    await vault.acceptCertificate(acc.id, 'bob', c2);
    expect(await vault.getCertificate(acc.id, 'bob')).toBe(c2);
    await expectKind(vault.pinCertificate('nobody@https://x.example' as AccountId, 'bob', c1), 'not-found');
    await expectKind(vault.pinCertificate(acc.id, 'bob', 'not pem !!'), 'format');
    vault.close();
  });
});

describe('counters and key checksums', () => {
  it('never lowers a counter; a lower one is a counter error and audited', async () => {
    const { vault } = await freshVault();
    const acc = await vault.createAccount(ACCOUNT);
    expect(await vault.getCounter(acc.id, '42')).toBeUndefined();
    expect(await vault.setCounter(acc.id, '42', 3)).toBeUndefined();
    expect(await vault.setCounter(acc.id, '42', 5)).toBe(3);
    await expectKind(vault.setCounter(acc.id, '42', 4), 'counter');
    expect(await vault.getCounter(acc.id, '42')).toBe(5);
    expect(await vault.setCounter(acc.id, '42', 5)).toBe(5);
    expect(await vault.setCounter(acc.id, '43', 1)).toBeUndefined(); // per folder
    const ev = (await vault.readAudit(acc.id)).entries.map((e) => e.event);
    expect(ev).toContainEqual({ type: 'counter-rollback', fileId: '42', seen: 4, stored: 5 });
    await expectKind(vault.setCounter(acc.id, '42', -1), 'metadata');
    await expectKind(vault.setCounter(acc.id, '42', Number.NaN), 'metadata');
    vault.close();
  });

  it('same counter with different content is refused', async () => {
    const { vault } = await freshVault();
    const acc = await vault.createAccount(ACCOUNT);
    await vault.setCounter(acc.id, '7', 2, 'a'.repeat(64));
    await vault.setCounter(acc.id, '7', 2, 'a'.repeat(64));
    await expectKind(vault.setCounter(acc.id, '7', 2, 'b'.repeat(64)), 'counter');
    await vault.setCounter(acc.id, '7', 3, 'b'.repeat(64));
    vault.close();
  });

  it('key-checksum history grows and a removed checksum is refused', async () => {
    const { vault } = await freshVault();
    const acc = await vault.createAccount(ACCOUNT);
    const [a, b, c] = ['a', 'b', 'c'].map((x) => x.repeat(64)) as [string, string, string];
    expect(await vault.recordKeyChecksums(acc.id, '9', [a])).toEqual([a]);
    expect(await vault.recordKeyChecksums(acc.id, '9', [a.toUpperCase(), b])).toEqual([b]);
    await vault.setCounter(acc.id, '9', 4);
    await expectKind(vault.recordKeyChecksums(acc.id, '9', [b, c]), 'key-checksum');
    expect(await vault.getKeyChecksums(acc.id, '9')).toEqual([a, b]);
    expect(await vault.recordKeyChecksums(acc.id, '9', [c, b, a])).toEqual([c]);
    expect(await vault.getCounter(acc.id, '9')).toBe(4);
    await expectKind(vault.recordKeyChecksums(acc.id, '9', ['xyz']), 'metadata');
    vault.close();
  });
});

describe('devices and handled requests', () => {
  it('adds, touches, forgets devices (with audit)', async () => {
    const t = clock();
    const { vault } = await freshVault({ now: t.now });
    const acc = await vault.createAccount(ACCOUNT);
    await vault.addDevice(acc.id, { deviceId: 'me', name: 'Laptop', browser: 'Firefox 153', current: true });
    t.advance(1000);
    await vault.recordDeviceApproved(acc.id, 'req1', {
      deviceId: 'd2',
      name: 'Desktop',
      browser: 'Chromium 156',
    });
    t.advance(1000);
    await vault.touchDevice(acc.id, 'd2');
    let list = await vault.listDevices(acc.id);
    expect(list.map((d) => d.deviceId).sort()).toEqual(['d2', 'me']);
    expect(list.find((d) => d.deviceId === 'd2')!.lastSeen).toBe(t.now());
    await vault.forgetDevice(acc.id, 'd2');
    list = await vault.listDevices(acc.id);
    expect(list.map((d) => d.deviceId)).toEqual(['me']);
    expect(
      (await vault.listDevices(acc.id, { includeForgotten: true })).find((d) => d.deviceId === 'd2')!
        .forgotten,
    ).toBe(true);
    await expectKind(vault.forgetDevice(acc.id, 'nope'), 'not-found');
    const types = (await vault.readAudit(acc.id)).entries.map((e) => e.event.type);
    expect(types).toEqual(['account-connected', 'device-approved', 'device-forgotten']);
    vault.close();
  });

  it('marks device-approval requests handled exactly once', async () => {
    const { vault } = await freshVault();
    const acc = await vault.createAccount(ACCOUNT);
    expect(await vault.isRequestHandled(acc.id, 'r1')).toBe(false);
    expect(await vault.markRequestHandled(acc.id, 'r1')).toBe(true);
    expect(await vault.markRequestHandled(acc.id, 'r1')).toBe(false);
    expect(await vault.isRequestHandled(acc.id, 'r1')).toBe(true);
    vault.close();
  });
});

describe('removeAccount', () => {
  it('removes everything of that account and nothing of another', async () => {
    const store = new MemoryKeyStore();
    const { vault, name } = await freshVault({ keyStore: store });
    const a = await withKeys(vault);
    await vault.setMode(a.id, 'remember');
    const b = await vault.createAccount({ ...ACCOUNT, userId: 'bob' });
    for (const acc of [a.id, b.id]) {
      await vault.pinServerKey(acc, fakePem('PUBLIC KEY'));
      await vault.pinCertificate(acc, 'carol', fakePem());
      await vault.setCounter(acc, '1', 1);
      await vault.addDevice(acc, { deviceId: 'x', name: 'n', browser: 'b' });
      await vault.markRequestHandled(acc, 'r');
    }
    await vault.removeAccount(a.id);
    expect(vault.isUnlocked(a.id)).toBe(false);
    expect(await store.get(`words:${a.id}`)).toBeUndefined();
    const db = await openDB(name);
    for (const s of db.objectStoreNames) {
      if (s === 'cryptoKeys' || s === 'meta') continue;
      const all = await db.getAll(s);
      expect(
        all.some((r) => JSON.stringify(r).includes(a.id)),
        s,
      ).toBe(false);
      if (s !== 'keys')
        expect(
          all.some((r) => JSON.stringify(r).includes(b.id)),
          s,
        ).toBe(true);
    }
    db.close();
    expect((await vault.readAudit(b.id)).intact).toBe(true);
    expect(await vault.getAccount(a.id)).toBeUndefined();
    vault.close();
  });
});
