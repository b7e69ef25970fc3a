/**
 * Small per-account engine preferences that the vault does not model (docs: lib/engine/account-service.ts):
 * - `wordsPending`: keys were created on this device and the user has not yet confirmed the recovery words;
 * - `lockedExplicitly`: the user (or the idle timer) locked the account, so a key remembered on this device
 *   is not used automatically when the engine restarts;
 * - `autoLockSeconds`: idle time with second precision (the vault stores whole minutes).
 * Nothing secret is stored here. `IdbAccountPrefs` persists in its own small IndexedDB database.
 */
import { openDB, type IDBPDatabase } from 'idb';

export interface AccountPrefsRecord {
  wordsPending?: boolean;
  lockedExplicitly?: boolean;
  autoLockSeconds?: number;
}

export interface AccountPrefs {
  get(accountId: string): Promise<AccountPrefsRecord>;
  update(accountId: string, patch: AccountPrefsRecord): Promise<AccountPrefsRecord>;
  delete(accountId: string): Promise<void>;
}

export class MemoryAccountPrefs implements AccountPrefs {
  readonly records = new Map<string, AccountPrefsRecord>();

  async get(accountId: string): Promise<AccountPrefsRecord> {
    return { ...(this.records.get(accountId) ?? {}) };
  }

  async update(accountId: string, patch: AccountPrefsRecord): Promise<AccountPrefsRecord> {
    const next = { ...(this.records.get(accountId) ?? {}), ...patch };
    this.records.set(accountId, next);
    return { ...next };
  }

  async delete(accountId: string): Promise<void> {
    this.records.delete(accountId);
  }
}

const STORE = 'prefs';

export class IdbAccountPrefs implements AccountPrefs {
  private db: Promise<IDBPDatabase> | undefined;

  constructor(private readonly name = 'cipherfold-engine-prefs') {}

  private open(): Promise<IDBPDatabase> {
    this.db ??= openDB(this.name, 1, {
      upgrade(db) {
        if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE);
      },
    });
    return this.db;
  }

  async get(accountId: string): Promise<AccountPrefsRecord> {
    const v: unknown = await (await this.open()).get(STORE, accountId);
    return isPrefs(v) ? { ...v } : {};
  }

  async update(accountId: string, patch: AccountPrefsRecord): Promise<AccountPrefsRecord> {
    const db = await this.open();
    const tx = db.transaction(STORE, 'readwrite');
    const current: unknown = await tx.store.get(accountId);
    const next = { ...(isPrefs(current) ? current : {}), ...patch };
    await tx.store.put(next, accountId);
    await tx.done;
    return next;
  }

  async delete(accountId: string): Promise<void> {
    await (await this.open()).delete(STORE, accountId);
  }
}

function isPrefs(v: unknown): v is AccountPrefsRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
