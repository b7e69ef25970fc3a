import { dbName, ACCOUNT } from './helpers';
import { describe, expect, it } from 'vitest';
import { openDB } from 'idb';
import { isCipherfoldError } from '../../../lib/errors';
import { MIGRATIONS, VAULT_DB_VERSION, openVault, type Migration } from '../../../lib/vault';

describe('schema and migrations', () => {
  it('opens a database that does not exist yet (version 0) and creates every store at version 1', async () => {
    const name = dbName();
    const vault = await openVault(name);
    vault.close();
    const db = await openDB(name);
    expect(db.version).toBe(VAULT_DB_VERSION);
    expect(VAULT_DB_VERSION).toBe(1);
    expect([...db.objectStoreNames].sort()).toEqual(
      [
        'accounts',
        'audit',
        'certificates',
        'cryptoKeys',
        'devices',
        'folders',
        'handledRequests',
        'keys',
        'meta',
        'serverKeys',
        'settings',
      ].sort(),
    );
    expect(await db.get('meta', 'schema')).toMatchObject({ version: 1 });
    db.close();
  });

  it('reopening at the same version keeps the data', async () => {
    const name = dbName();
    const v1 = await openVault(name, { kdfIterations: 1000 });
    const acc = await v1.createAccount(ACCOUNT);
    v1.close();
    const again = await openVault(name);
    expect((await again.getAccount(acc.id))?.displayName).toBe(ACCOUNT.displayName);
    again.close();
  });

  it('runs a future migration (v1 → v2) over existing data, in the upgrade transaction', async () => {
    const name = dbName();
    const v1 = await openVault(name, { kdfIterations: 1000 });
    const acc = await v1.createAccount(ACCOUNT);
    await v1.setCounter(acc.id, '5', 9);
    v1.close();

    // A hypothetical v2: add an index and rewrite every folder record.
    const v2: Migration = (_db, tx) => {
      const folders = tx.objectStore('folders');
      (folders as unknown as { createIndex(name: string, keyPath: string): unknown }).createIndex(
        'byCounter',
        'counter',
      );
      void folders.openCursor().then(async function walk(c): Promise<void> {
        if (!c) return;
        await c.update({ ...c.value, counter: c.value.counter + 100 });
        return walk(await c.continue());
      });
    };
    const upgraded = await openVault(name, { migrations: [...MIGRATIONS, v2] });
    expect(await upgraded.getCounter(acc.id, '5')).toBe(109);
    expect((await upgraded.getAccount(acc.id))?.userId).toBe(ACCOUNT.userId);
    upgraded.close();
    const db = await openDB(name);
    expect(db.version).toBe(2);
    expect([...db.transaction('folders').store.indexNames]).toEqual(['byCounter']);
    db.close();
  });

  it('a failing migration leaves the old version and data intact', async () => {
    const name = dbName();
    const v1 = await openVault(name, { kdfIterations: 1000 });
    const acc = await v1.createAccount(ACCOUNT);
    v1.close();
    const broken: Migration = (db) => {
      db.deleteObjectStore('accounts');
      throw new Error('boom');
    };
    await expect(openVault(name, { migrations: [...MIGRATIONS, broken] })).rejects.toThrow();
    const again = await openVault(name);
    expect(await again.getAccount(acc.id)).toBeDefined();
    again.close();
  });

  it('refuses a database written by a newer version (downgrade) with an unsupported error', async () => {
    const name = dbName();
    const newer = await openVault(name, { migrations: [...MIGRATIONS, () => undefined] });
    newer.close();
    const e = await openVault(name).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isCipherfoldError(e, 'unsupported')).toBe(true);
  });

  it('closes itself when another context upgrades the schema', async () => {
    const name = dbName();
    const old = await openVault(name);
    const newer = await openVault(name, { migrations: [...MIGRATIONS, () => undefined] });
    await expect(old.listAccounts()).rejects.toSatisfy((e) => isCipherfoldError(e, 'internal'));
    newer.close();
  });
});
