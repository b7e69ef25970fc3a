/**
 * The vault: persistent, per-browser-profile state of Cipherfold in IndexedDB (docs/vault.md).
 *
 * Secrets at rest: the RSA private key and the recovery words are wrapped (AES-256-GCM) by a
 * non-extractable key derived from the words (PBKDF2-SHA256, 600 000 iterations, own salt); the app
 * password is wrapped by a per-profile, non-extractable device key so that background work (e.g.
 * polling for device-approval requests) can run while the vault is locked.
 *
 * Every read-modify-write runs in one IndexedDB transaction that awaits nothing but IndexedDB (crypto is
 * done before the transaction opens), so concurrent extension contexts cannot interleave.
 */
import { fail, isCipherfoldError, CipherfoldError } from '../errors';
import type { Bytes } from '../crypto/bytes';
import { assertAuditEventIsSafe, makeEntry, verifyChain } from './audit';
import { DEVICE_KEY_ID, IdbKeyStore, wordsKeyId, type KeyStore } from './key-store';
import { pemFingerprint } from './pins';
import {
  ACCOUNT_STORES,
  DEFAULT_VAULT_NAME,
  accountRange,
  openVaultDb,
  type Migration,
  type VaultDb,
  type VaultSchema,
} from './schema';
import {
  DEFAULT_AUTO_LOCK_MINUTES,
  accountIdOf,
  originOf,
  type AccountId,
  type AccountRecord,
  type AccountView,
  type AuditEntry,
  type AuditEvent,
  type AuditReadResult,
  type DeviceRecord,
  type FolderFileId,
  type FolderRecord,
  type KeySource,
  type KeysRecord,
  type PinResult,
  type SettingsRecord,
  type UnlockedAccount,
  type VaultMode,
} from './types';
import {
  WORDS_KDF_ITERATIONS,
  deriveWordsKey,
  generateDeviceKey,
  newWordsKdf,
  normaliseWordList,
  unwrapSecret,
  unwrapText,
  wrapSecret,
  wrapText,
} from './wrapping';
import type { IDBPTransaction, StoreNames } from 'idb';

export const RECOVERY_WORD_COUNT = 12;

export interface OpenVaultOptions {
  /** Where CryptoKeys are persisted; default: the vault's own `cryptoKeys` store. */
  keyStore?: KeyStore;
  /** PBKDF2 iterations for new key records (tests only; default 600 000). */
  kdfIterations?: number;
  now?: () => number;
  /** Schema migrations (tests of future upgrades only). */
  migrations?: readonly Migration[];
}

export interface NewAccount {
  serverUrl: string;
  userId: string;
  loginName: string;
  displayName: string;
  appPassword: string;
  mode?: VaultMode;
  autoLockMinutes?: number;
}

export interface NewKeys {
  words: readonly string[] | string;
  privateKeyPkcs8: Bytes;
  certificatePem: string;
  source: KeySource;
}

export interface NewDevice {
  deviceId: string;
  name: string;
  browser: string;
  current?: boolean;
}

interface Session {
  wordsKey: CryptoKey;
  pkcs8: Bytes;
  certificatePem: string;
}

type AnyTx = IDBPTransaction<VaultSchema, StoreNames<VaultSchema>[], 'readwrite'>;

/** True for the error thrown when an operation needs the vault unlocked. */
export function isVaultLocked(e: unknown): boolean {
  return isCipherfoldError(e, 'mnemonic') && e.detail === 'vault-locked';
}

export async function openVault(
  name: string = DEFAULT_VAULT_NAME,
  options: OpenVaultOptions = {},
): Promise<Vault> {
  const holder: { vault?: Vault } = {};
  const db = await openVaultDb(name, {
    ...(options.migrations ? { migrations: options.migrations } : {}),
    onVersionChange: () => holder.vault?.markClosed(),
  });
  holder.vault = new Vault(db, options);
  return holder.vault;
}

export class Vault {
  private closed = false;
  private readonly keyStore: KeyStore;
  private readonly iterations: number;
  private readonly now: () => number;
  private readonly sessions = new Map<AccountId, Session>();
  private deviceKeyCache: CryptoKey | undefined;
  private readonly lockListeners = new Set<(accountId: AccountId, locked: boolean) => void>();

  constructor(
    private readonly database: VaultDb,
    options: OpenVaultOptions = {},
  ) {
    this.keyStore = options.keyStore ?? new IdbKeyStore(() => this.db);
    this.iterations = options.kdfIterations ?? WORDS_KDF_ITERATIONS;
    this.now = options.now ?? (() => Date.now());
  }

  private get db(): VaultDb {
    if (this.closed) {
      throw fail(
        'internal',
        'The local Cipherfold data was closed, probably because Cipherfold is being updated. Reload this page.',
      );
    }
    return this.database;
  }

  /** @internal called when another context upgrades the schema. */
  markClosed(): void {
    this.closed = true;
    this.dropAllSessions();
  }

  close(): void {
    this.dropAllSessions();
    if (!this.closed) this.database.close();
    this.closed = true;
  }

  /** Notified on every lock/unlock (`locked` true after lock). Returns an unsubscribe function. */
  onLockChange(fn: (accountId: AccountId, locked: boolean) => void): () => void {
    this.lockListeners.add(fn);
    return () => this.lockListeners.delete(fn);
  }

  // ---------------------------------------------------------------- accounts

  async createAccount(input: NewAccount): Promise<AccountView> {
    const id = accountIdOf(input.userId, input.serverUrl);
    const deviceKey = await this.deviceKey();
    const record: AccountRecord = {
      id,
      serverUrl: input.serverUrl.replace(/\/+$/, ''),
      origin: originOf(input.serverUrl),
      userId: input.userId,
      loginName: input.loginName,
      displayName: input.displayName,
      appPassword: await wrapText(deviceKey, 'app-password', id, input.appPassword),
      createdAt: this.now(),
    };
    const settings: SettingsRecord = {
      accountId: id,
      autoLockMinutes: validMinutes(input.autoLockMinutes ?? DEFAULT_AUTO_LOCK_MINUTES),
      mode: input.mode ?? 'session',
    };
    const tx = this.db.transaction(['accounts', 'settings', 'audit'], 'readwrite');
    if (await tx.objectStore('accounts').get(id)) {
      tx.abort();
      await tx.done.catch(() => undefined);
      throw fail(
        'conflict',
        'This account is already connected in Cipherfold. Nothing was changed. Remove it first to connect it again.',
      );
    }
    await tx.objectStore('accounts').add(record);
    await tx.objectStore('settings').put(settings);
    await this.auditInTx(tx as unknown as AnyTx, id, { type: 'account-connected' });
    await tx.done;
    return { ...viewOf(record), hasKeys: false };
  }

  async getAccount(accountId: AccountId): Promise<AccountView | undefined> {
    const tx = this.db.transaction(['accounts', 'keys'], 'readonly');
    const record = await tx.objectStore('accounts').get(accountId);
    const hasKeys = (await tx.objectStore('keys').count(accountId)) > 0;
    await tx.done;
    return record ? { ...viewOf(record), hasKeys } : undefined;
  }

  async listAccounts(): Promise<AccountView[]> {
    const tx = this.db.transaction(['accounts', 'keys'], 'readonly');
    const records = await tx.objectStore('accounts').getAll();
    const withKeys = new Set(await tx.objectStore('keys').getAllKeys());
    await tx.done;
    return records.map((r) => ({ ...viewOf(r), hasKeys: withKeys.has(r.id) }));
  }

  /** Removes everything stored for the account (keys, pins, counters, audit chain, devices, settings). */
  async removeAccount(accountId: AccountId): Promise<void> {
    this.dropSession(accountId);
    const tx = this.db.transaction([...ACCOUNT_STORES], 'readwrite');
    const range = accountRange(accountId);
    await Promise.all(
      ACCOUNT_STORES.map((s) =>
        ['accounts', 'keys', 'serverKeys', 'settings'].includes(s)
          ? tx.objectStore(s).delete(accountId)
          : tx.objectStore(s).delete(range),
      ),
    );
    await tx.done;
    await this.keyStore.delete(wordsKeyId(accountId));
  }

  async getAppPassword(accountId: AccountId): Promise<string> {
    const record = await this.requireAccount(accountId);
    try {
      return await unwrapText(await this.deviceKey(), 'app-password', accountId, record.appPassword);
    } catch (e) {
      throw fail(
        'auth',
        "The stored app password can't be read on this device any more. The browser's key storage may have been reset. Connect the account again.",
        {
          cause: e,
        },
      );
    }
  }

  async setAppPassword(accountId: AccountId, appPassword: string): Promise<void> {
    const wrapped = await wrapText(await this.deviceKey(), 'app-password', accountId, appPassword);
    const tx = this.db.transaction(['accounts', 'audit'], 'readwrite');
    const record = await tx.objectStore('accounts').get(accountId);
    if (!record) {
      tx.abort();
      await tx.done.catch(() => undefined);
      throw noAccount();
    }
    await tx.objectStore('accounts').put({ ...record, appPassword: wrapped });
    await this.auditInTx(tx as unknown as AnyTx, accountId, { type: 'app-password-changed' });
    await tx.done;
  }

  // ---------------------------------------------------------------- keys, lock state

  /**
   * Stores the user's key pair wrapped by the words (first device, import, or device approval) and
   * leaves the account unlocked. Replaces an existing key record.
   */
  async setKeys(accountId: AccountId, keys: NewKeys): Promise<void> {
    const words = checkWords(keys.words);
    const fingerprint = pemFingerprint(keys.certificatePem);
    await this.requireAccount(accountId);
    const kdf = newWordsKdf(this.iterations);
    const wordsKey = await deriveWordsKey(words, kdf);
    const record: KeysRecord = {
      accountId,
      kdf,
      privateKey: await wrapSecret(wordsKey, 'private-key', accountId, keys.privateKeyPkcs8),
      words: await wrapText(wordsKey, 'words', accountId, words.join(' ')),
      certificatePem: keys.certificatePem,
      source: keys.source,
      createdAt: this.now(),
    };
    const tx = this.db.transaction(['keys', 'audit'], 'readwrite');
    await tx.objectStore('keys').put(record);
    await this.auditInTx(tx as unknown as AnyTx, accountId, {
      type: 'key-created',
      source: keys.source,
      certificateFingerprint: fingerprint,
    });
    await tx.done;
    this.setSession(accountId, {
      wordsKey,
      pkcs8: copyOf(keys.privateKeyPkcs8),
      certificatePem: keys.certificatePem,
    });
    if ((await this.getSettings(accountId)).mode === 'remember')
      await this.keyStore.put(wordsKeyId(accountId), wordsKey);
  }

  /** Re-derives the key from the words and unwraps the private key. Wrong words → `mnemonic` error. */
  async unlock(accountId: AccountId, words: readonly string[] | string): Promise<UnlockedAccount> {
    const list = checkWords(words);
    const keys = await this.requireKeys(accountId);
    const wordsKey = await deriveWordsKey(list, keys.kdf);
    let pkcs8: Bytes;
    try {
      pkcs8 = await unwrapSecret(wordsKey, 'private-key', accountId, keys.privateKey);
    } catch (e) {
      if (!isCipherfoldError(e, 'tag')) throw e;
      await this.appendAudit(accountId, { type: 'unlock-failed' });
      throw fail(
        'mnemonic',
        "These words don't open your key. Check the spelling and order — the words are the ones shown when encryption was first set up on any of your devices.",
      );
    }
    this.setSession(accountId, { wordsKey, pkcs8, certificatePem: keys.certificatePem });
    if ((await this.getSettings(accountId)).mode === 'remember')
      await this.keyStore.put(wordsKeyId(accountId), wordsKey);
    await this.appendAudit(accountId, { type: 'key-unlocked', method: 'words' });
    return this.unlocked(accountId);
  }

  /**
   * Unlocks with a key that was kept: the one remembered on this device ("remember" mode), or the one the
   * caller kept in memory ("session" mode, from `getSessionKey`). Returns null when there is no such key.
   */
  async unlockWithStoredKey(accountId: AccountId, key?: CryptoKey): Promise<UnlockedAccount | null> {
    const wordsKey = key ?? (await this.keyStore.get(wordsKeyId(accountId)));
    if (!wordsKey) return null;
    const keys = await this.requireKeys(accountId);
    let pkcs8: Bytes;
    try {
      pkcs8 = await unwrapSecret(wordsKey, 'private-key', accountId, keys.privateKey);
    } catch (e) {
      if (!isCipherfoldError(e, 'tag')) throw e;
      if (!key) await this.keyStore.delete(wordsKeyId(accountId));
      throw fail(
        'mnemonic',
        'The key remembered on this device no longer opens your key. Your keys may have been replaced on another device. Enter your recovery words.',
      );
    }
    this.setSession(accountId, { wordsKey, pkcs8, certificatePem: keys.certificatePem });
    await this.appendAudit(accountId, { type: 'key-unlocked', method: 'stored-key' });
    return this.unlocked(accountId);
  }

  isUnlocked(accountId: AccountId): boolean {
    return this.sessions.has(accountId);
  }

  /** The words-derived key of an unlocked account, for callers that keep it in memory ("session" mode). */
  getSessionKey(accountId: AccountId): CryptoKey | undefined {
    return this.sessions.get(accountId)?.wordsKey;
  }

  /** The unlocked key material (a fresh copy of the PKCS#8 each call). */
  unlocked(accountId: AccountId): UnlockedAccount {
    const s = this.requireSession(accountId);
    return { accountId, privateKeyPkcs8: copyOf(s.pkcs8), certificatePem: s.certificatePem };
  }

  /** Locks one account, or all. A remembered key stays on the device (use setMode('session') to forget it). */
  async lock(accountId?: AccountId, reason: 'user' | 'idle' | 'other' = 'user'): Promise<void> {
    const ids = accountId ? [accountId] : [...this.sessions.keys()];
    for (const id of ids) {
      if (!this.sessions.has(id)) continue;
      this.dropSession(id);
      await this.appendAudit(id, { type: 'key-locked', reason }).catch(() => undefined);
    }
  }

  async revealWords(accountId: AccountId): Promise<string[]> {
    const s = this.requireSession(accountId);
    const keys = await this.requireKeys(accountId);
    const text = await unwrapText(s.wordsKey, 'words', accountId, keys.words);
    await this.appendAudit(accountId, { type: 'words-revealed' });
    return text.split(' ');
  }

  async getOwnCertificate(accountId: AccountId): Promise<string | undefined> {
    return (await this.db.get('keys', accountId))?.certificatePem;
  }

  // ---------------------------------------------------------------- settings

  async getSettings(accountId: AccountId): Promise<SettingsRecord> {
    return (
      (await this.db.get('settings', accountId)) ?? {
        accountId,
        autoLockMinutes: DEFAULT_AUTO_LOCK_MINUTES,
        mode: 'session',
      }
    );
  }

  /** Auto-lock minutes and security mark. The mode changes through `setMode`. */
  async updateSettings(
    accountId: AccountId,
    patch: Partial<Pick<SettingsRecord, 'autoLockMinutes' | 'securityMark'>>,
  ): Promise<SettingsRecord> {
    await this.requireAccount(accountId);
    const current = await this.getSettings(accountId);
    const next: SettingsRecord = { ...current };
    if (patch.autoLockMinutes !== undefined) next.autoLockMinutes = validMinutes(patch.autoLockMinutes);
    if (patch.securityMark !== undefined) next.securityMark = { ...patch.securityMark };
    await this.db.put('settings', next);
    return next;
  }

  /**
   * "remember": keeps the words-derived key in this profile (requires the account unlocked).
   * "session": deletes a remembered key; the vault locks when the browser closes.
   */
  async setMode(accountId: AccountId, mode: VaultMode): Promise<void> {
    await this.requireAccount(accountId);
    if (mode === 'remember')
      await this.keyStore.put(wordsKeyId(accountId), this.requireSession(accountId).wordsKey);
    else await this.keyStore.delete(wordsKeyId(accountId));
    const current = await this.getSettings(accountId);
    const tx = this.db.transaction(['settings', 'audit'], 'readwrite');
    await tx.objectStore('settings').put({ ...current, mode });
    if (current.mode !== mode)
      await this.auditInTx(tx as unknown as AnyTx, accountId, { type: 'mode-changed', mode });
    await tx.done;
  }

  // ---------------------------------------------------------------- TOFU pins

  /** Pins the server's public key on first use. A different key is reported, never accepted here. */
  async pinServerKey(accountId: AccountId, publicKeyPem: string): Promise<PinResult> {
    const fingerprint = pemFingerprint(publicKeyPem);
    const tx = this.db.transaction(['accounts', 'serverKeys', 'audit'], 'readwrite');
    await this.requireAccountInTx(tx as unknown as AnyTx, accountId);
    const store = tx.objectStore('serverKeys');
    const existing = await store.get(accountId);
    let result: PinResult;
    if (!existing) {
      await store.put({ accountId, pem: publicKeyPem, fingerprint, pinnedAt: this.now() });
      await this.auditInTx(tx as unknown as AnyTx, accountId, { type: 'server-key-pinned', fingerprint });
      result = 'pinned';
    } else if (existing.fingerprint === fingerprint) {
      if (existing.pendingFingerprint !== undefined) {
        const { pendingFingerprint: _drop, ...rest } = existing;
        await store.put(rest);
      }
      result = 'same';
    } else {
      if (existing.pendingFingerprint !== fingerprint) {
        await store.put({ ...existing, pendingFingerprint: fingerprint });
        await this.auditInTx(tx as unknown as AnyTx, accountId, {
          type: 'server-key-changed',
          oldFingerprint: existing.fingerprint,
          newFingerprint: fingerprint,
          accepted: false,
        });
      }
      result = {
        changed: {
          old: existing.pem,
          new: publicKeyPem,
          oldFingerprint: existing.fingerprint,
          newFingerprint: fingerprint,
        },
      };
    }
    await tx.done;
    return result;
  }

  /** Explicitly trusts a changed server key (after the user confirmed in extension chrome). */
  async acceptServerKey(accountId: AccountId, publicKeyPem: string): Promise<void> {
    const fingerprint = pemFingerprint(publicKeyPem);
    const tx = this.db.transaction(['accounts', 'serverKeys', 'audit'], 'readwrite');
    await this.requireAccountInTx(tx as unknown as AnyTx, accountId);
    const existing = await tx.objectStore('serverKeys').get(accountId);
    await tx
      .objectStore('serverKeys')
      .put({ accountId, pem: publicKeyPem, fingerprint, pinnedAt: this.now() });
    await this.auditInTx(
      tx as unknown as AnyTx,
      accountId,
      existing
        ? {
            type: 'server-key-changed',
            oldFingerprint: existing.fingerprint,
            newFingerprint: fingerprint,
            accepted: true,
          }
        : { type: 'server-key-pinned', fingerprint },
    );
    await tx.done;
  }

  async getServerKey(accountId: AccountId): Promise<string | undefined> {
    return (await this.db.get('serverKeys', accountId))?.pem;
  }

  /** Pins another user's (or a share's `s:token`) certificate on first use; changes are reported. */
  async pinCertificate(accountId: AccountId, userId: string, certificatePem: string): Promise<PinResult> {
    const fingerprint = pemFingerprint(certificatePem);
    const tx = this.db.transaction(['accounts', 'certificates', 'audit'], 'readwrite');
    await this.requireAccountInTx(tx as unknown as AnyTx, accountId);
    const store = tx.objectStore('certificates');
    const existing = await store.get([accountId, userId]);
    let result: PinResult;
    if (!existing) {
      await store.put({ accountId, userId, pem: certificatePem, fingerprint, pinnedAt: this.now() });
      await this.auditInTx(tx as unknown as AnyTx, accountId, {
        type: 'certificate-pinned',
        userId,
        fingerprint,
      });
      result = 'pinned';
    } else if (existing.fingerprint === fingerprint) {
      if (existing.pendingFingerprint !== undefined) {
        const { pendingFingerprint: _drop, ...rest } = existing;
        await store.put(rest);
      }
      result = 'same';
    } else {
      if (existing.pendingFingerprint !== fingerprint) {
        await store.put({ ...existing, pendingFingerprint: fingerprint });
        await this.auditInTx(tx as unknown as AnyTx, accountId, {
          type: 'certificate-changed',
          userId,
          oldFingerprint: existing.fingerprint,
          newFingerprint: fingerprint,
          accepted: false,
        });
      }
      result = {
        changed: {
          old: existing.pem,
          new: certificatePem,
          oldFingerprint: existing.fingerprint,
          newFingerprint: fingerprint,
        },
      };
    }
    await tx.done;
    return result;
  }

  async acceptCertificate(accountId: AccountId, userId: string, certificatePem: string): Promise<void> {
    const fingerprint = pemFingerprint(certificatePem);
    const tx = this.db.transaction(['accounts', 'certificates', 'audit'], 'readwrite');
    await this.requireAccountInTx(tx as unknown as AnyTx, accountId);
    const existing = await tx.objectStore('certificates').get([accountId, userId]);
    await tx
      .objectStore('certificates')
      .put({ accountId, userId, pem: certificatePem, fingerprint, pinnedAt: this.now() });
    await this.auditInTx(
      tx as unknown as AnyTx,
      accountId,
      existing
        ? {
            type: 'certificate-changed',
            userId,
            oldFingerprint: existing.fingerprint,
            newFingerprint: fingerprint,
            accepted: true,
          }
        : { type: 'certificate-pinned', userId, fingerprint },
    );
    await tx.done;
  }

  /** Every pinned user certificate of an account: user id → PEM. */
  async listCertificates(accountId: AccountId): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const range = IDBKeyRange.bound([accountId, ''], [accountId, '\uffff']);
    for (const rec of await this.db.getAll('certificates', range)) out.set(rec.userId, rec.pem);
    return out;
  }

  async getCertificate(accountId: AccountId, userId: string): Promise<string | undefined> {
    return (await this.db.get('certificates', [accountId, userId]))?.pem;
  }

  // ---------------------------------------------------------------- counters and key checksums

  async getCounter(accountId: AccountId, fileId: FolderFileId): Promise<number | undefined> {
    return (await this.db.get('folders', [accountId, fileId]))?.counter;
  }

  /**
   * Records a metadata counter for an encrypted root. Never lowers the stored value: a lower counter
   * throws a `counter` error (and is audited); an equal counter with a different `digest` (hex SHA-256 of
   * the metadata) throws too. Returns the previously stored counter.
   */
  async setCounter(
    accountId: AccountId,
    fileId: FolderFileId,
    counter: number,
    digest?: string,
  ): Promise<number | undefined> {
    if (!Number.isSafeInteger(counter) || counter < 0) {
      throw fail(
        'metadata',
        'A folder counter is not a valid number. The server may have sent damaged metadata. Nothing was changed; try again later.',
      );
    }
    const tx = this.db.transaction(['accounts', 'folders', 'audit'], 'readwrite');
    await this.requireAccountInTx(tx as unknown as AnyTx, accountId);
    const store = tx.objectStore('folders');
    const existing = await store.get([accountId, fileId]);
    let error: CipherfoldError | undefined;
    if (existing && counter < existing.counter) {
      await this.auditInTx(tx as unknown as AnyTx, accountId, {
        type: 'counter-rollback',
        fileId,
        seen: counter,
        stored: existing.counter,
      });
      error = fail(
        'counter',
        'This folder was shown in an older state than the one seen before. The server may be replaying old data. Nothing was changed; tell your administrator.',
        { detail: `fileId ${fileId}: seen ${counter}, highest ${existing.counter}` },
      );
    } else if (existing && counter === existing.counter) {
      if (digest !== undefined && existing.digest !== undefined && digest !== existing.digest) {
        error = fail(
          'counter',
          'This folder changed without its version number increasing. The server may have tampered with it. Nothing was changed; tell your administrator.',
          { detail: `fileId ${fileId}: counter ${counter}` },
        );
      } else if (digest !== undefined && existing.digest === undefined) {
        await store.put({ ...existing, digest, updatedAt: this.now() });
      }
    } else {
      const next: FolderRecord = {
        accountId,
        fileId,
        counter,
        checksums: existing?.checksums ?? [],
        updatedAt: this.now(),
      };
      if (digest !== undefined) next.digest = digest;
      await store.put(next);
    }
    await tx.done;
    if (error) throw error;
    return existing?.counter;
  }

  /** The whole per-folder record (counter, digest, checksum history), if any. */
  async getFolderRecord(accountId: AccountId, fileId: FolderFileId): Promise<FolderRecord | undefined> {
    return this.db.get('folders', [accountId, fileId]);
  }

  async getKeyChecksums(accountId: AccountId, fileId: FolderFileId): Promise<string[]> {
    return (await this.db.get('folders', [accountId, fileId]))?.checksums ?? [];
  }

  /**
   * Merges the checksums listed by the current metadata into the history. If a checksum seen before is
   * missing from `current`, throws a `key-checksum` error (history must never shrink) and stores nothing.
   * Returns the newly added checksums.
   */
  async recordKeyChecksums(
    accountId: AccountId,
    fileId: FolderFileId,
    current: readonly string[],
  ): Promise<string[]> {
    const normalised = current.map((c) => c.toLowerCase());
    if (normalised.some((c) => !/^[0-9a-f]{64}$/.test(c))) {
      throw fail(
        'metadata',
        'A key checksum in the folder metadata is malformed. The metadata may be damaged. Nothing was changed.',
      );
    }
    const tx = this.db.transaction(['accounts', 'folders', 'audit'], 'readwrite');
    await this.requireAccountInTx(tx as unknown as AnyTx, accountId);
    const store = tx.objectStore('folders');
    const existing = await store.get([accountId, fileId]);
    const history = existing?.checksums ?? [];
    const currentSet = new Set(normalised);
    const missing = history.filter((c) => !currentSet.has(c));
    let added: string[] = [];
    if (missing.length > 0) {
      await this.auditInTx(tx as unknown as AnyTx, accountId, {
        type: 'key-checksum-removed',
        fileId,
        missing: missing.length,
      });
    } else {
      const known = new Set(history);
      added = [...new Set(normalised.filter((c) => !known.has(c)))];
      if (added.length > 0 || !existing) {
        await store.put({
          ...(existing ?? { accountId, fileId, counter: 0 }),
          checksums: [...history, ...added],
          updatedAt: this.now(),
        });
      }
    }
    await tx.done;
    if (missing.length > 0) {
      throw fail(
        'key-checksum',
        "A key that this folder used before is no longer listed in its metadata. Someone may be trying to replace the folder's key. Nothing was changed; tell the folder owner and your administrator.",
        { detail: `fileId ${fileId}: ${missing.length} checksum(s) removed` },
      );
    }
    return added;
  }

  // ---------------------------------------------------------------- devices

  async listDevices(
    accountId: AccountId,
    options: { includeForgotten?: boolean } = {},
  ): Promise<DeviceRecord[]> {
    const all = await this.db.getAll('devices', accountRange(accountId));
    return options.includeForgotten ? all : all.filter((d) => !d.forgotten);
  }

  /** Adds (or refreshes) a device without an audit entry (e.g. this device at setup). */
  async addDevice(accountId: AccountId, device: NewDevice): Promise<DeviceRecord> {
    await this.requireAccount(accountId);
    const at = this.now();
    const record: DeviceRecord = {
      accountId,
      deviceId: device.deviceId,
      name: device.name,
      browser: device.browser,
      approvedAt: at,
      lastSeen: at,
      forgotten: false,
      ...(device.current ? { current: true } : {}),
    };
    await this.db.put('devices', record);
    return record;
  }

  /** Records a device approved through device approval, with its audit entry, in one transaction. */
  async recordDeviceApproved(
    accountId: AccountId,
    requestId: string,
    device: NewDevice,
  ): Promise<DeviceRecord> {
    const at = this.now();
    const record: DeviceRecord = {
      accountId,
      deviceId: device.deviceId,
      name: device.name,
      browser: device.browser,
      approvedAt: at,
      lastSeen: at,
      forgotten: false,
    };
    const tx = this.db.transaction(['accounts', 'devices', 'audit'], 'readwrite');
    await this.requireAccountInTx(tx as unknown as AnyTx, accountId);
    await tx.objectStore('devices').put(record);
    await this.auditInTx(tx as unknown as AnyTx, accountId, {
      type: 'device-approved',
      requestId,
      deviceId: device.deviceId,
      deviceName: device.name,
    });
    await tx.done;
    return record;
  }

  async touchDevice(accountId: AccountId, deviceId: string, at = this.now()): Promise<void> {
    const tx = this.db.transaction('devices', 'readwrite');
    const d = await tx.store.get([accountId, deviceId]);
    if (d && at > d.lastSeen) await tx.store.put({ ...d, lastSeen: at });
    await tx.done;
  }

  /** Marks a device forgotten (kept for the record; see docs/device-approval.md on what this cannot undo). */
  async forgetDevice(accountId: AccountId, deviceId: string): Promise<void> {
    const tx = this.db.transaction(['devices', 'audit'], 'readwrite');
    const d = await tx.objectStore('devices').get([accountId, deviceId]);
    if (!d) {
      tx.abort();
      await tx.done.catch(() => undefined);
      throw fail(
        'not-found',
        'This device is not in the list. It may have been removed already. Refresh the list.',
      );
    }
    if (!d.forgotten) {
      await tx.objectStore('devices').put({ ...d, forgotten: true });
      await this.auditInTx(tx as unknown as AnyTx, accountId, {
        type: 'device-forgotten',
        deviceId,
        deviceName: d.name,
      });
    }
    await tx.done;
  }

  /** Device-approval requests answered from this device (single use). True if newly recorded. */
  async markRequestHandled(accountId: AccountId, requestId: string): Promise<boolean> {
    const tx = this.db.transaction('handledRequests', 'readwrite');
    if (await tx.store.get([accountId, requestId])) {
      await tx.done;
      return false;
    }
    await tx.store.add({ accountId, requestId, handledAt: this.now() });
    await tx.done;
    return true;
  }

  async isRequestHandled(accountId: AccountId, requestId: string): Promise<boolean> {
    return (await this.db.count('handledRequests', [accountId, requestId])) > 0;
  }

  // ---------------------------------------------------------------- audit log

  async appendAudit(accountId: AccountId, event: AuditEvent): Promise<AuditEntry> {
    const tx = this.db.transaction(['audit'], 'readwrite');
    const entry = await this.auditInTx(tx as unknown as AnyTx, accountId, event);
    await tx.done;
    return entry;
  }

  /** Reads an account's audit chain and verifies it (edits, gaps and reordering are reported). */
  async readAudit(accountId: AccountId): Promise<AuditReadResult> {
    const entries = await this.db.getAll('audit', accountRange(accountId));
    return verifyChain(accountId, entries);
  }

  private async auditInTx(tx: AnyTx, accountId: AccountId, event: AuditEvent): Promise<AuditEntry> {
    assertAuditEventIsSafe(event);
    const store = tx.objectStore('audit');
    const cursor = await store.openCursor(accountRange(accountId), 'prev');
    const entry = makeEntry(accountId, cursor?.value, this.now(), event);
    await store.add(entry);
    return entry;
  }

  // ---------------------------------------------------------------- internals

  private async deviceKey(): Promise<CryptoKey> {
    if (this.deviceKeyCache) return this.deviceKeyCache;
    const stored = await this.keyStore.get(DEVICE_KEY_ID);
    this.deviceKeyCache =
      stored ?? (await this.keyStore.putIfAbsent(DEVICE_KEY_ID, await generateDeviceKey()));
    return this.deviceKeyCache;
  }

  private async requireAccount(accountId: AccountId): Promise<AccountRecord> {
    const record = await this.db.get('accounts', accountId);
    if (!record) throw noAccount();
    return record;
  }

  private async requireAccountInTx(tx: AnyTx, accountId: AccountId): Promise<void> {
    if (!(await tx.objectStore('accounts').count(accountId))) {
      tx.abort();
      await tx.done.catch(() => undefined);
      throw noAccount();
    }
  }

  private async requireKeys(accountId: AccountId): Promise<KeysRecord> {
    const keys = await this.db.get('keys', accountId);
    if (!keys) {
      throw fail(
        'not-found',
        'This account has no encryption key on this device yet. Set up encryption or approve this device from another one.',
      );
    }
    return keys;
  }

  private requireSession(accountId: AccountId): Session {
    const s = this.sessions.get(accountId);
    if (!s) {
      throw fail(
        'mnemonic',
        'Cipherfold is locked. Nothing was changed. Unlock it with your recovery words and try again.',
        {
          detail: 'vault-locked',
        },
      );
    }
    return s;
  }

  private setSession(accountId: AccountId, s: Session): void {
    const old = this.sessions.get(accountId);
    if (old && old.pkcs8 !== s.pkcs8) old.pkcs8.fill(0);
    this.sessions.set(accountId, s);
    for (const fn of this.lockListeners) fn(accountId, false);
  }

  private dropSession(accountId: AccountId): void {
    const s = this.sessions.get(accountId);
    if (!s) return;
    s.pkcs8.fill(0);
    this.sessions.delete(accountId);
    for (const fn of this.lockListeners) fn(accountId, true);
  }

  private dropAllSessions(): void {
    for (const id of [...this.sessions.keys()]) this.dropSession(id);
  }
}

function viewOf(r: AccountRecord): Omit<AccountRecord, 'appPassword'> {
  const { appPassword: _secret, ...rest } = r;
  return rest;
}

function noAccount(): CipherfoldError {
  return fail(
    'not-found',
    'This account is not connected in Cipherfold. It may have been removed. Connect it again.',
  );
}

function validMinutes(m: number): number {
  if (!Number.isInteger(m) || m < 0 || m > 7 * 24 * 60) {
    throw fail(
      'format',
      'The auto-lock time must be a whole number of minutes (0 for never, at most a week). Choose another value.',
    );
  }
  return m;
}

function checkWords(words: readonly string[] | string): string[] {
  const list = normaliseWordList(words);
  if (list.length !== RECOVERY_WORD_COUNT) {
    throw fail(
      'mnemonic',
      `Cipherfold expected ${RECOVERY_WORD_COUNT} recovery words but got ${list.length}. Check that no word is missing or doubled, then try again.`,
    );
  }
  return list;
}

function copyOf(b: Uint8Array): Bytes {
  const out = new Uint8Array(new ArrayBuffer(b.length));
  out.set(b);
  return out;
}
