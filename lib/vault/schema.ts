/**
 * IndexedDB schema of the vault and its migrations.
 *
 * Rules (docs/vault.md, "Schema and migrations"):
 * - `MIGRATIONS[i]` upgrades a database from version i to i + 1 (index 0 creates version 1 from nothing).
 *   A migration only issues requests on the upgrade transaction; it never awaits anything else (the
 *   transaction would auto-commit).
 * - Never edit a shipped migration; append a new one and bump nothing else: the version is
 *   `MIGRATIONS.length`.
 * - A database whose version is newer than this code (the user downgraded the extension) is refused with
 *   an `unsupported` error instead of being touched.
 */
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import { fail } from '../errors';
import type {
  AccountRecord,
  AuditEntry,
  DeviceRecord,
  FolderRecord,
  KeysRecord,
  PinnedCertificateRecord,
  PinnedKeyRecord,
  SettingsRecord,
} from './types';

export interface HandledRequestRecord {
  accountId: string;
  requestId: string;
  handledAt: number;
}

export interface VaultSchema extends DBSchema {
  accounts: { key: string; value: AccountRecord };
  keys: { key: string; value: KeysRecord };
  serverKeys: { key: string; value: PinnedKeyRecord };
  certificates: { key: [string, string]; value: PinnedCertificateRecord };
  folders: { key: [string, string]; value: FolderRecord };
  audit: { key: [string, number]; value: AuditEntry };
  devices: { key: [string, string]; value: DeviceRecord };
  settings: { key: string; value: SettingsRecord };
  handledRequests: { key: [string, string]; value: HandledRequestRecord };
  /** Non-extractable CryptoKeys (device key; words-derived keys in "remember" mode). */
  cryptoKeys: { key: string; value: CryptoKey };
  meta: { key: string; value: unknown };
}

export type VaultDb = IDBPDatabase<VaultSchema>;
export type UpgradeTx = IDBPTransaction<VaultSchema, StoreNames<VaultSchema>[], 'versionchange'>;
export type Migration = (db: VaultDb, tx: UpgradeTx) => void;

/** Stores that hold per-account data; keys are `accountId` or `[accountId, …]`. */
export const ACCOUNT_STORES = [
  'accounts',
  'keys',
  'serverKeys',
  'certificates',
  'folders',
  'audit',
  'devices',
  'settings',
  'handledRequests',
] as const;

export const MIGRATIONS: readonly Migration[] = [
  // 0 → 1: initial schema.
  (db) => {
    db.createObjectStore('accounts', { keyPath: 'id' });
    db.createObjectStore('keys', { keyPath: 'accountId' });
    db.createObjectStore('serverKeys', { keyPath: 'accountId' });
    db.createObjectStore('certificates', { keyPath: ['accountId', 'userId'] });
    db.createObjectStore('folders', { keyPath: ['accountId', 'fileId'] });
    db.createObjectStore('audit', { keyPath: ['accountId', 'seq'] });
    db.createObjectStore('devices', { keyPath: ['accountId', 'deviceId'] });
    db.createObjectStore('settings', { keyPath: 'accountId' });
    db.createObjectStore('handledRequests', { keyPath: ['accountId', 'requestId'] });
    db.createObjectStore('cryptoKeys');
    db.createObjectStore('meta');
  },
];

export const VAULT_DB_VERSION = MIGRATIONS.length;
export const DEFAULT_VAULT_NAME = 'cipherfold-vault';

export interface OpenDbOptions {
  /** For tests of future upgrades only. */
  migrations?: readonly Migration[];
  /** Called when another context wants to upgrade the schema; the connection is already closed. */
  onVersionChange?: () => void;
}

export async function openVaultDb(name: string, options: OpenDbOptions = {}): Promise<VaultDb> {
  const migrations = options.migrations ?? MIGRATIONS;
  const version = migrations.length;
  let db: VaultDb | undefined;
  try {
    db = await openDB<VaultSchema>(name, version, {
      upgrade(database, oldVersion, _newVersion, tx) {
        // Failures surface through openDB's rejection; keep idb's helper promises from going unhandled.
        tx.done.catch(() => undefined);
        try {
          for (let v = oldVersion; v < version; v++) migrations[v]!(database, tx);
          tx.objectStore('meta')
            .put({ version, upgradedAt: Date.now() }, 'schema')
            .catch(() => undefined);
        } catch (e) {
          tx.abort();
          throw e;
        }
      },
      blocking() {
        // A newer version of the extension (another context) wants to upgrade: let it.
        db?.close();
        options.onVersionChange?.();
      },
    });
  } catch (e) {
    if (e instanceof Error && e.name === 'VersionError') {
      throw fail(
        'unsupported',
        'The local Cipherfold data was written by a newer version of the extension. Opening it with this version could damage it. Update Cipherfold.',
        { cause: e },
      );
    }
    throw fail(
      'internal',
      'The local Cipherfold database could not be opened. The browser may be low on space or in a private mode that blocks storage. Restart the browser and try again.',
      {
        cause: e,
      },
    );
  }
  return db;
}

/** Key range matching every `[accountId, …]` compound key of one account. */
export function accountRange(accountId: string): IDBKeyRange {
  // Arrays sort after numbers and strings, so [id, []] is above every [id, x].
  return IDBKeyRange.bound([accountId], [accountId, []]);
}
