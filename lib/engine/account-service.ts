/**
 * AccountService: the engine's accounts — connect (Login Flow v2 or login name + app password), key setup
 * on the first device, adding a device with the recovery words, lock/unlock (idle auto-lock, "remember on
 * this device" vs "this session only"), revealing the words after a password re-check, disconnect.
 *
 * Created once by the engine host (`getAccountService()` in entrypoints/offscreen/engine-host.ts). Other
 * engine parts get the unlocked `E2eeSession` of a server with `sessionFor(origin)`.
 *
 * First-device order (nothing is lost if the setup tab closes, or even if the engine stops):
 *   certificate from the server → key + words stored in the vault HERE (remembered on this device while the
 *   words are unconfirmed) → wrapped key uploaded → words returned to the setup tab. The tab only displays;
 *   the engine finishes the work without it. Until the user confirmed the words, `wordsPending` is set and
 *   the setup tab can show them again (`pendingWords`); afterwards only with the Nextcloud password.
 */
import { requireAccount } from './accounts/require-account';
import { generateMnemonic, parseMnemonic } from '../crypto/mnemonic';
import { generateRsaKeyPair, importRsaPrivateKey } from '../crypto/rsa';
import { fail, isCipherfoldError } from '../errors';
import type { AccountState, AccountSummary, KeepMode, MarkChoice, StatusResult } from '../messages/accounts';
import { isMarkChoice } from '../messages/accounts';
import {
  NextcloudClient,
  e2eeApiFamilyFor,
  type E2eeApiFamily,
  type FetchLike,
  type LoginFlowStart,
} from '../nextcloud';
import { certificateMatchesKey, parseCertificate, verifyCertificate } from '../protocol/certificate';
import { createCsr } from '../protocol/csr';
import { wrapPrivateKey } from '../protocol/private-key-blob';
import {
  AutoLock,
  accountIdOf,
  parseAccountId,
  systemClock,
  type AccountId,
  type AccountView,
  type Clock,
  type Vault,
} from '../vault';
import { MemoryAccountPrefs, type AccountPrefs } from './accounts/prefs';
import {
  checkServer,
  confirmPassword,
  ensureAppPassword,
  whoAmI,
  type ServerInfo,
} from './accounts/server-check';
import { E2eeSession } from './folders';
import { detectKeyState, unlockWithWords, type KeyState } from './keys';
import { MemoryTrustStore, type TrustStore } from './trust-store';

export type { AccountState, AccountSummary, KeepMode, MarkChoice };
/** What `engine/status` answers (same shape as the ui/engine message `StatusResult`). */
export type EngineStatus = StatusResult;

export interface AccountServiceOptions {
  /** The vault, or a factory (opened lazily on first use). */
  vault: Vault | Promise<Vault> | (() => Promise<Vault>);
  prefs?: AccountPrefs;
  fetch?: FetchLike;
  clock?: Clock;
  /** Per-account trust store for folder state and TOFU pins (default: in memory, per engine lifetime). */
  trustStoreFor?: (accountId: string) => TrustStore;
  /** Login Flow v2 polls expire after this long (ms). */
  loginFlowTtlMs?: number;
}

interface PendingFlow {
  serverUrl: string;
  client: NextcloudClient;
  start: LoginFlowStart;
  createdAt: number;
}

const WRONG_WORDS =
  "These words don't open your key. Check the spelling and order — the words are the ones shown when encryption was first set up on any of your devices.";

export class AccountService {
  private readonly vaultSource: AccountServiceOptions['vault'];
  private initPromise: Promise<Vault> | undefined;
  private readonly prefs: AccountPrefs;
  private readonly fetchFn: FetchLike;
  private readonly clock: Clock;
  private readonly trustStoreFor: (accountId: string) => TrustStore;
  private readonly trustStores = new Map<string, TrustStore>();
  private readonly sessions = new Map<AccountId, E2eeSession>();
  private readonly autoLocks = new Map<AccountId, AutoLock>();
  private readonly flows = new Map<string, PendingFlow>();
  private readonly apiFamilies = new Map<AccountId, E2eeApiFamily>();
  private readonly listeners = new Set<() => void>();
  private readonly loginFlowTtlMs: number;

  constructor(options: AccountServiceOptions) {
    this.vaultSource = options.vault;
    this.prefs = options.prefs ?? new MemoryAccountPrefs();
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.clock = options.clock ?? systemClock;
    this.trustStoreFor = options.trustStoreFor ?? (() => new MemoryTrustStore());
    this.loginFlowTtlMs = options.loginFlowTtlMs ?? 20 * 60_000;
  }

  // ------------------------------------------------------------------ contract for other engine parts

  /** Every connected account with its state; `locked` is true unless some account is unlocked. */
  async status(): Promise<EngineStatus> {
    const vault = await this.ready();
    for (const al of this.autoLocks.values()) al.check();
    const accounts: AccountSummary[] = [];
    for (const a of await vault.listAccounts()) accounts.push(await this.summaryOf(vault, a));
    return { accounts, locked: !accounts.some((a) => a.state === 'unlocked') };
  }

  /**
   * The unlocked session for a connected server origin (first unlocked account of that origin), or
   * undefined when locked / not connected. Counts as activity for the idle auto-lock.
   */
  sessionFor(origin: string): E2eeSession | undefined {
    for (const [id, session] of this.sessions) {
      if (parseAccountId(id).origin !== origin) continue;
      const al = this.autoLocks.get(id);
      if (al?.check()) continue;
      al?.touch();
      return session;
    }
    return undefined;
  }

  /** Called after any change of accounts or lock state. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ------------------------------------------------------------------ connect

  checkServer(serverUrl: string): Promise<ServerInfo> {
    return checkServer(this.fetchFn, serverUrl);
  }

  async loginStart(serverUrl: string): Promise<{ flowId: string; loginUrl: string }> {
    const info = await checkServer(this.fetchFn, serverUrl);
    const client = new NextcloudClient({ baseUrl: info.serverUrl, fetch: this.fetchFn });
    const start = await client.startLoginFlow();
    const flowId = randomId();
    this.pruneFlows();
    this.flows.set(flowId, { serverUrl: info.serverUrl, client, start, createdAt: this.clock.now() });
    return { flowId, loginUrl: start.loginUrl };
  }

  async loginPoll(
    flowId: string,
  ): Promise<{ status: 'pending' } | { status: 'connected'; accountId: string }> {
    this.pruneFlows();
    const flow = this.flows.get(flowId);
    if (!flow) {
      throw fail(
        'cancelled',
        'This sign-in was cancelled or took too long. Nothing was stored. Start the sign-in again.',
      );
    }
    const r = await flow.client.pollLoginFlow(flow.start);
    if (r.status === 'pending') return { status: 'pending' };
    this.flows.delete(flowId);
    const accountId = await this.finishConnect(flow.serverUrl, r.loginName, r.appPassword, true);
    return { status: 'connected', accountId };
  }

  loginCancel(flowId: string): void {
    this.flows.delete(flowId);
  }

  async connectManual(serverUrl: string, loginName: string, password: string): Promise<string> {
    const info = await checkServer(this.fetchFn, serverUrl);
    const { appPassword, exchanged } = await ensureAppPassword(
      this.fetchFn,
      info.serverUrl,
      loginName,
      password,
    );
    return this.finishConnect(info.serverUrl, loginName, appPassword, exchanged);
  }

  private async finishConnect(
    serverUrl: string,
    loginName: string,
    appPassword: string,
    ownAppPassword: boolean,
  ): Promise<AccountId> {
    const vault = await this.ready();
    const me = await whoAmI(this.fetchFn, serverUrl, loginName, appPassword);
    const client = new NextcloudClient({
      baseUrl: serverUrl,
      auth: { loginName, appPassword },
      userId: me.userId,
      fetch: this.fetchFn,
    });
    const caps = await client.getCapabilities();
    if (!caps.e2ee?.enabled) {
      if (ownAppPassword) await client.revokeAppPassword().catch(() => undefined);
      throw fail(
        'e2ee-unavailable',
        'End-to-end encryption is not available for your account on this server: the "End-to-end encryption" app is missing, disabled, or limited to other groups. Nothing was stored. Ask your administrator to enable it for you, then connect again.',
      );
    }
    const id = accountIdOf(me.userId, serverUrl);
    this.apiFamilies.set(id, e2eeApiFamilyFor(caps.e2ee.apiVersion));
    const existing = await vault.getAccount(id);
    if (existing) {
      const old = await vault.getAppPassword(id).catch(() => undefined);
      await vault.setAppPassword(id, appPassword);
      if (old !== undefined && old !== appPassword) {
        // The previous app password of this account is replaced: revoke it (best effort).
        await new NextcloudClient({
          baseUrl: existing.serverUrl,
          auth: { loginName: existing.loginName, appPassword: old },
          fetch: this.fetchFn,
        })
          .revokeAppPassword()
          .catch(() => undefined);
      }
    } else {
      await vault.createAccount({
        serverUrl,
        userId: me.userId,
        loginName,
        displayName: me.displayName,
        appPassword,
        mode: 'session',
      });
      const mark = await this.deviceMark(vault);
      if (mark) await vault.updateSettings(id, { securityMark: mark });
    }
    this.emit();
    return id;
  }

  // ------------------------------------------------------------------ keys

  /** 'local' when this device has the keys; otherwise the server's state (§9.1). Pins the server key. */
  async keyState(accountId: string): Promise<'local' | KeyState> {
    const vault = await this.ready();
    const acc = await requireAccount(vault, accountId);
    if (acc.hasKeys) return 'local';
    const client = await this.clientFor(vault, acc.id);
    await this.pinServerKey(vault, acc.id, client);
    return detectKeyState(client);
  }

  /** §9.2 on the first device. Returns the recovery words (show them only in an extension tab). */
  async setupFirstDevice(accountId: string, mark: MarkChoice): Promise<string[]> {
    const vault = await this.ready();
    const acc = await requireAccount(vault, accountId);
    const id = acc.id;
    const client = await this.clientFor(vault, id);
    const serverPublicKeyPem = await this.pinServerKey(vault, id, client);
    const state = await detectKeyState(client);
    if (acc.hasKeys) return this.resumeUpload(vault, id, client, state);
    if (state !== 'none') {
      throw fail(
        'conflict',
        state === 'complete'
          ? 'Your account already has encryption keys, probably set up on another device. Nothing was changed. Add this device with your 12 recovery words instead.'
          : 'Encryption setup for your account was started on another device but not finished (the server has a certificate but no key). Nothing was changed. Finish the setup on that device, or ask your administrator to reset your end-to-end encryption keys.',
      );
    }
    const { privateKey, publicSpki } = await generateRsaKeyPair();
    const csr = await createCsr(privateKey, publicSpki, acc.userId);
    let certificatePem: string;
    try {
      certificatePem = await client.e2ee.createPublicKey(csr);
    } catch (e) {
      if (isCipherfoldError(e, 'conflict')) {
        throw fail(
          'conflict',
          'Encryption keys for this account were created meanwhile, probably by another device. Nothing was changed. Add this device with your recovery words instead.',
          { cause: e },
        );
      }
      throw e;
    }
    const cert = parseCertificate(certificatePem);
    await verifyCertificate(cert, serverPublicKeyPem, { expectedCommonName: acc.userId });
    if (!certificateMatchesKey(cert, publicSpki)) {
      throw fail(
        'certificate',
        'The server returned a certificate for a different key than the one this device created. The server may be misbehaving. Nothing was stored; contact your administrator.',
      );
    }
    const words = generateMnemonic();
    const blob = await wrapPrivateKey(privateKey.pkcs8, words);
    // Local first: from here on the key and the words are safe in this profile, whatever happens to the tab.
    await vault.setKeys(id, {
      words,
      privateKeyPkcs8: privateKey.pkcs8,
      certificatePem,
      source: 'generated',
    });
    await this.prefs.update(id, { wordsPending: true, lockedExplicitly: false });
    await vault.setMode(id, 'remember'); // until the words are confirmed (see the file comment)
    await vault.pinCertificate(id, acc.userId, certificatePem);
    await this.setMark(mark);
    await this.buildSession(vault, id);
    await client.e2ee.storePrivateKey(blob).catch((e: unknown) => {
      throw fail(
        'network',
        'Your keys were created and saved on this device, but uploading the protected key to the server failed. Other devices cannot be added until it is uploaded. Try "Set up" again; it continues where it stopped.',
        { cause: e },
      );
    });
    this.emit();
    return words;
  }

  /** Local keys exist but the server has only the certificate (the upload failed): upload again. */
  private async resumeUpload(vault: Vault, id: AccountId, client: NextcloudClient, state: KeyState) {
    if (state !== 'certificate-only') {
      throw fail(
        'conflict',
        'Encryption is already set up on this device. Nothing was changed. Unlock it with your recovery words.',
      );
    }
    const certs = await client.e2ee.getPublicKeys();
    const local = await vault.getOwnCertificate(id);
    if (local === undefined || certs.get(parseAccountId(id).userId)?.trim() !== local.trim()) {
      throw fail(
        'certificate',
        'The certificate on the server is not the one created on this device. Someone else may have set up keys for your account. Nothing was uploaded; ask your administrator.',
      );
    }
    await this.unlockStoredIfNeeded(vault, id);
    const words = await vault.revealWords(id);
    const u = vault.unlocked(id);
    await client.e2ee.storePrivateKey(await wrapPrivateKey(u.privateKeyPkcs8, words));
    u.privateKeyPkcs8.fill(0);
    this.emit();
    return words;
  }

  /** The words of a setup that was not confirmed yet (e.g. the tab was closed before the confirmation). */
  async pendingWords(accountId: string): Promise<string[]> {
    const vault = await this.ready();
    const { id } = await requireAccount(vault, accountId);
    if (!(await this.prefs.get(id)).wordsPending) {
      throw fail(
        'permission',
        'Your recovery words were already confirmed. They are not shown again here. To see them, use "Show recovery words" in Settings; it asks for your Nextcloud password.',
      );
    }
    await this.unlockStoredIfNeeded(vault, id);
    return vault.revealWords(id);
  }

  /** The user re-typed the words correctly: apply the chosen keep mode. */
  async confirmWords(accountId: string, mode: KeepMode): Promise<void> {
    const vault = await this.ready();
    const { id } = await requireAccount(vault, accountId);
    if (!vault.isUnlocked(id)) await this.unlockStoredIfNeeded(vault, id);
    await vault.setMode(id, mode);
    await this.prefs.update(id, { wordsPending: false });
    this.emit();
  }

  /**
   * Unlock with the 12 words: with the key stored on this device, or (further device, §9.3) by fetching the
   * wrapped key and certificate from the server and checking key ⇔ certificate ⇔ pinned server key.
   */
  async unlockWithWords(
    accountId: string,
    words: readonly string[],
    mode: KeepMode | null,
    mark: MarkChoice | null,
  ): Promise<{ kdf: string; ms: number }> {
    const vault = await this.ready();
    const acc = await requireAccount(vault, accountId);
    const id = acc.id;
    const list = parseMnemonic(words.join(' '));
    const t0 = nowMs();
    let kdf: string;
    let ms: number | undefined;
    if (acc.hasKeys) {
      try {
        await vault.unlock(id, list);
      } catch (e) {
        if (isCipherfoldError(e, 'mnemonic')) throw fail('mnemonic', WRONG_WORDS);
        throw e;
      }
      kdf = 'vault PBKDF2-SHA256/600000';
    } else {
      const client = await this.clientFor(vault, id);
      const serverPublicKeyPem = await this.pinServerKey(vault, id, client);
      const state = await detectKeyState(client);
      if (state !== 'complete') {
        throw fail(
          'not-found',
          state === 'none'
            ? 'Your account has no encryption keys yet, so there is nothing to open with recovery words. Nothing was changed. Set up encryption on this device instead.'
            : 'Encryption setup for your account was started on another device but not finished. Nothing was changed. Finish the setup on that device first.',
        );
      }
      let keys;
      try {
        keys = await unlockWithWords(client, list, { serverPublicKeyPem });
      } catch (e) {
        if (isCipherfoldError(e, 'mnemonic')) throw fail('mnemonic', WRONG_WORDS);
        throw e;
      }
      const pin = await vault.pinCertificate(id, acc.userId, keys.certificatePem);
      if (pin !== 'pinned' && pin !== 'same') {
        throw fail(
          'certificate',
          'Your certificate on the server is not the one this device saw before. Someone may have replaced it. Nothing was changed; ask your administrator before you continue.',
        );
      }
      kdf = `${keys.kdf.hash}/${keys.kdf.iterations}`;
      ms = Math.round(nowMs() - t0); // fetch + unwrap (every KDF tried) + checks; not the vault's own re-wrap
      await vault.setKeys(id, {
        words: list,
        privateKeyPkcs8: keys.key.pkcs8,
        certificatePem: keys.certificatePem,
        source: 'imported',
      });
    }
    ms ??= Math.round(nowMs() - t0);
    if (mode !== null) await vault.setMode(id, mode);
    if (mark !== null) await this.setMark(mark);
    await this.prefs.update(id, { lockedExplicitly: false });
    await this.buildSession(vault, id);
    this.emit();
    return { kdf, ms };
  }

  /** "Remember on this device": unlock with the key kept in this profile. */
  async unlockStored(accountId: string): Promise<void> {
    const vault = await this.ready();
    const { id } = await requireAccount(vault, accountId);
    const r = await vault.unlockWithStoredKey(id);
    if (r === null) {
      throw fail(
        'mnemonic',
        'No key is remembered on this device for this account. It is set to "this session only". Enter your 12 recovery words.',
      );
    }
    r.privateKeyPkcs8.fill(0);
    await this.prefs.update(id, { lockedExplicitly: false });
    await this.buildSession(vault, id);
    this.emit();
  }

  /** Locks one account or all of them. */
  async lock(accountId: string | null, reason: 'user' | 'idle' = 'user'): Promise<void> {
    const vault = await this.ready();
    const ids =
      accountId === null
        ? (await vault.listAccounts()).map((a) => a.id)
        : [(await requireAccount(vault, accountId)).id];
    for (const id of ids) {
      if (!vault.isUnlocked(id)) continue;
      await this.prefs.update(id, { lockedExplicitly: true });
      await vault.lock(id, reason);
    }
    this.emit();
  }

  /** Re-checks the Nextcloud login password, then returns the words (the account must be unlocked). */
  async revealWords(accountId: string, password: string): Promise<string[]> {
    const vault = await this.ready();
    const acc = await requireAccount(vault, accountId);
    if (!acc.hasKeys) {
      throw fail(
        'not-found',
        'This account has no encryption keys on this device. There are no words to show.',
      );
    }
    await confirmPassword(this.fetchFn, acc.serverUrl, acc.loginName, acc.userId, password);
    if (!vault.isUnlocked(acc.id)) {
      throw fail(
        'mnemonic',
        'Cipherfold is locked. The recovery words can only be shown while it is unlocked. Unlock it and try again.',
        { detail: 'vault-locked' },
      );
    }
    return vault.revealWords(acc.id);
  }

  /** Removes everything of the account on this device; optionally revokes its app password on the server. */
  async disconnect(
    accountId: string,
    revoke: boolean,
  ): Promise<{ origin: string; revoked: boolean; revokeError: string | null; originInUse: boolean }> {
    const vault = await this.ready();
    const acc = await requireAccount(vault, accountId);
    let revoked = false;
    let revokeError: string | null = null;
    if (revoke) {
      try {
        await (await this.clientFor(vault, acc.id, false)).revokeAppPassword();
        revoked = true;
      } catch (e) {
        revokeError = isCipherfoldError(e)
          ? e.message
          : 'The app password could not be revoked. Remove it in Nextcloud under Settings → Security.';
      }
    }
    this.autoLocks.get(acc.id)?.stop();
    this.autoLocks.delete(acc.id);
    await vault.removeAccount(acc.id);
    this.sessions.delete(acc.id);
    this.trustStores.delete(acc.id);
    this.apiFamilies.delete(acc.id);
    await this.prefs.delete(acc.id);
    const originInUse = (await vault.listAccounts()).some((a) => a.origin === acc.origin);
    this.emit();
    return { origin: acc.origin, revoked, revokeError, originInUse };
  }

  // ------------------------------------------------------------------ settings

  async settings(
    accountId: string,
  ): Promise<{ autoLockSeconds: number; mode: KeepMode; mark: MarkChoice | null }> {
    const vault = await this.ready();
    const { id } = await requireAccount(vault, accountId);
    const s = await vault.getSettings(id);
    return {
      autoLockSeconds: await this.autoLockSeconds(vault, id),
      mode: s.mode,
      mark: markOf(s.securityMark),
    };
  }

  /** Idle time before the account locks (0 = never). Seconds, so tests can use a short time. */
  async setAutoLock(accountId: string, seconds: number): Promise<void> {
    const vault = await this.ready();
    const { id } = await requireAccount(vault, accountId);
    await vault.updateSettings(id, { autoLockMinutes: Math.ceil(seconds / 60) });
    await this.prefs.update(id, { autoLockSeconds: seconds });
    const al = this.autoLocks.get(id);
    if (al) {
      al.setMinutes(seconds / 60);
      al.touch();
    }
    this.emit();
  }

  async setMode(accountId: string, mode: KeepMode): Promise<void> {
    const vault = await this.ready();
    const { id } = await requireAccount(vault, accountId);
    await vault.setMode(id, mode);
    this.emit();
  }

  /** The security mark is one per device: it is stored with every account. */
  async setMark(mark: MarkChoice): Promise<void> {
    const vault = await this.ready();
    for (const a of await vault.listAccounts()) {
      await vault.updateSettings(a.id, { securityMark: { colour: mark.colour, symbol: mark.symbol } });
    }
    this.emit();
  }

  // ------------------------------------------------------------------ internals

  private ready(): Promise<Vault> {
    this.initPromise ??= this.init().catch((e: unknown) => {
      this.initPromise = undefined; // try again next time (e.g. storage was briefly unavailable)
      throw e;
    });
    return this.initPromise;
  }

  private async init(): Promise<Vault> {
    const v = this.vaultSource;
    const vault = await (typeof v === 'function' ? v() : v);
    vault.onLockChange((id, locked) => {
      if (!locked) return;
      this.sessions.delete(id);
      this.autoLocks.get(id)?.stop();
      this.emit();
    });
    // "Remember on this device": come back unlocked after an engine restart, unless the user (or the idle
    // timer) locked explicitly.
    for (const a of await vault.listAccounts()) {
      if (!a.hasKeys) continue;
      const [s, p] = await Promise.all([vault.getSettings(a.id), this.prefs.get(a.id)]);
      if (s.mode !== 'remember' || p.lockedExplicitly) continue;
      try {
        const r = await vault.unlockWithStoredKey(a.id);
        if (r) {
          r.privateKeyPkcs8.fill(0);
          await this.buildSession(vault, a.id);
        }
      } catch {
        /* stays locked; the unlock page explains */
      }
    }
    return vault;
  }

  private async unlockStoredIfNeeded(vault: Vault, id: AccountId): Promise<void> {
    if (vault.isUnlocked(id)) return;
    const r = await vault.unlockWithStoredKey(id);
    if (r) {
      r.privateKeyPkcs8.fill(0);
      await this.buildSession(vault, id);
    }
  }

  private async buildSession(vault: Vault, id: AccountId): Promise<void> {
    const acc = await requireAccount(vault, id);
    const u = vault.unlocked(id);
    const key = await importRsaPrivateKey(u.privateKeyPkcs8);
    const client = await this.clientFor(vault, id);
    let serverPublicKeyPem = await vault.getServerKey(id);
    serverPublicKeyPem ??= await this.pinServerKey(vault, id, client);
    let store = this.trustStores.get(id);
    if (!store) {
      store = this.trustStoreFor(id);
      this.trustStores.set(id, store);
    }
    this.sessions.set(
      id,
      new E2eeSession(
        client,
        { userId: acc.userId, key, certificatePem: u.certificatePem, serverPublicKeyPem },
        store,
      ),
    );
    let al = this.autoLocks.get(id);
    const minutes = (await this.autoLockSeconds(vault, id)) / 60;
    if (!al) {
      al = new AutoLock({
        minutes,
        clock: this.clock,
        onLock: () => this.lock(id, 'idle').catch(() => undefined),
      });
      this.autoLocks.set(id, al);
    } else {
      al.setMinutes(minutes);
    }
    al.touch();
  }

  private async autoLockSeconds(vault: Vault, id: AccountId): Promise<number> {
    const [s, p] = await Promise.all([vault.getSettings(id), this.prefs.get(id)]);
    if (p.autoLockSeconds !== undefined && Math.ceil(p.autoLockSeconds / 60) === s.autoLockMinutes) {
      return p.autoLockSeconds;
    }
    return s.autoLockMinutes * 60;
  }

  private async clientFor(vault: Vault, id: AccountId, learnApi = true): Promise<NextcloudClient> {
    const acc = await requireAccount(vault, id);
    const appPassword = await vault.getAppPassword(id);
    const make = (e2eeApi: E2eeApiFamily) =>
      new NextcloudClient({
        baseUrl: acc.serverUrl,
        auth: { loginName: acc.loginName, appPassword },
        userId: acc.userId,
        fetch: this.fetchFn,
        e2eeApi,
      });
    let family = this.apiFamilies.get(id);
    if (family === undefined && learnApi) {
      const caps = await make('v2').getCapabilities();
      if (!caps.e2ee?.enabled) {
        throw fail(
          'e2ee-unavailable',
          'End-to-end encryption is no longer available for your account on this server. The app may have been disabled. Ask your administrator.',
        );
      }
      family = e2eeApiFamilyFor(caps.e2ee.apiVersion);
      this.apiFamilies.set(id, family);
    }
    return make(family ?? 'v2');
  }

  /** TOFU: the server key must be the one pinned for this account; a change is a loud error, never trusted. */
  private async pinServerKey(vault: Vault, id: AccountId, client: NextcloudClient): Promise<string> {
    const pem = await client.e2ee.getServerKey();
    const r = await vault.pinServerKey(id, pem);
    if (r !== 'pinned' && r !== 'same') {
      throw fail(
        'certificate',
        "The server's encryption key is not the one this device saw before. Someone may be trying to read your encrypted files, or the server was reinstalled. Nothing was changed: do not continue, and ask your administrator whether the server's end-to-end encryption key was replaced.",
        { detail: `pinned ${r.changed.oldFingerprint}, now ${r.changed.newFingerprint}` },
      );
    }
    return pem;
  }

  private async summaryOf(vault: Vault, a: AccountView): Promise<AccountSummary> {
    const [s, p] = await Promise.all([vault.getSettings(a.id), this.prefs.get(a.id)]);
    const state: AccountState = !a.hasKeys ? 'needs-keys' : vault.isUnlocked(a.id) ? 'unlocked' : 'locked';
    return {
      accountId: a.id,
      origin: a.origin,
      serverUrl: a.serverUrl,
      userId: a.userId,
      displayName: a.displayName,
      state,
      wordsPending: a.hasKeys && p.wordsPending === true,
      mode: s.mode,
      mark: markOf(s.securityMark),
    };
  }

  private async deviceMark(vault: Vault): Promise<MarkChoice | null> {
    for (const a of await vault.listAccounts()) {
      const m = markOf((await vault.getSettings(a.id)).securityMark);
      if (m) return m;
    }
    return null;
  }

  private pruneFlows(): void {
    const now = this.clock.now();
    for (const [k, f] of this.flows) if (now - f.createdAt > this.loginFlowTtlMs) this.flows.delete(k);
  }

  private emit(): void {
    for (const fn of this.listeners) {
      try {
        fn();
      } catch {
        /* a listener's bug must not break the engine */
      }
    }
  }
}

function markOf(m: unknown): MarkChoice | null {
  return isMarkChoice(m) ? { colour: m.colour, symbol: m.symbol } : null;
}

function randomId(): string {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...b))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function nowMs(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
