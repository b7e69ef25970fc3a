/**
 * The engine's single AccountService (Chrome: offscreen document; Firefox: background page) and the
 * handlers of the `accounts/*` engine commands. Other engine parts call `getAccountService()`.
 */
import { AccountService } from '../../lib/engine/account-service';
import { DeviceService } from '../../lib/engine/device-service';
import { withBlobBodies } from '../../lib/nextcloud';
import { IdbAccountPrefs } from '../../lib/engine/accounts/prefs';
import type { AccountCommands, DeviceCommands, StatusResult } from '../../lib/messages';
import { openVault, type AccountId, type Vault } from '../../lib/vault';
import { VaultTrustStore } from '../../lib/engine/vault-trust-store';

let service: AccountService | undefined;
let vaultPromise: Promise<Vault> | undefined;

/** One vault connection for the whole engine. */
function sharedVault(): Promise<Vault> {
  vaultPromise ??= openVault().catch((e: unknown) => {
    vaultPromise = undefined;
    throw e;
  });
  return vaultPromise;
}
let replaced = false;

/** The engine's AccountService, created on first use (opens the vault lazily). */
export function getAccountService(): AccountService {
  service ??= new AccountService({
    vault: sharedVault,
    // Browsers stream request bodies only over HTTP/2+: send streamed PUTs as (disk-backed) Blobs.
    fetch: withBlobBodies((input, init) => globalThis.fetch(input, init)),
    prefs: new IdbAccountPrefs(),
    // Counters, key-checksum history and certificate pins persist in the vault (rollback detection
    // across restarts), not in memory.
    trustStoreFor: (accountId) => new VaultTrustStore(sharedVault, accountId as AccountId),
  });
  return service;
}

let devices: DeviceService | undefined;
let badgeSink: (count: number) => void = () => undefined;

/** Where the engine reports the number of device approvals waiting (the host sets the toolbar badge). */
export function setBadgeSink(sink: (count: number) => void): void {
  badgeSink = sink;
}

/**
 * The engine's DeviceService (device approval, docs/device-approval.md §7). Created on first use; it
 * polls `/.cipherfold/devices/` only while an account is unlocked.
 */
export function getDeviceService(): DeviceService {
  devices ??= new DeviceService({
    accounts: getAccountService(),
    vault: sharedVault,
    onBadge: (count) => badgeSink(count),
  });
  return devices;
}

/** Replaces the service (tests). */
export function setAccountServiceForTests(s: AccountService | undefined): void {
  service = s;
  replaced = s !== undefined;
}

/** `engine/status`: without IndexedDB (plain Node) there is no vault, hence no account. */
export function engineStatus(): Promise<StatusResult> {
  if (!replaced && typeof globalThis.indexedDB === 'undefined') {
    return Promise.resolve({ accounts: [], locked: true });
  }
  return getAccountService().status();
}

type AccountHandlers = {
  [C in keyof AccountCommands]: (
    payload: AccountCommands[C]['payload'],
  ) => Promise<AccountCommands[C]['result']>;
};

export function accountHandlers(get: () => AccountService = getAccountService): AccountHandlers {
  return {
    'accounts/check-server': (p) => get().checkServer(p.serverUrl),
    'accounts/login-start': (p) => get().loginStart(p.serverUrl),
    'accounts/login-poll': (p) => get().loginPoll(p.flowId),
    'accounts/login-cancel': async (p) => (get().loginCancel(p.flowId), {}),
    'accounts/connect-manual': async (p) => ({
      accountId: await get().connectManual(p.serverUrl, p.loginName, p.appPassword),
    }),
    'accounts/key-state': async (p) => ({ keys: await get().keyState(p.accountId) }),
    'accounts/setup-first': async (p) => ({ words: await get().setupFirstDevice(p.accountId, p.mark) }),
    'accounts/pending-words': async (p) => ({ words: await get().pendingWords(p.accountId) }),
    'accounts/confirm-words': async (p) => (await get().confirmWords(p.accountId, p.mode), {}),
    'accounts/unlock-words': (p) => get().unlockWithWords(p.accountId, p.words, p.mode, p.mark),
    'accounts/unlock-stored': async (p) => (await get().unlockStored(p.accountId), {}),
    'accounts/lock': async (p) => (await get().lock(p.accountId), {}),
    'accounts/reveal-words': async (p) => ({ words: await get().revealWords(p.accountId, p.password) }),
    'accounts/disconnect': (p) => get().disconnect(p.accountId, p.revoke),
    'accounts/settings': (p) => get().settings(p.accountId),
    'accounts/set-auto-lock': async (p) => (await get().setAutoLock(p.accountId, p.seconds), {}),
    'accounts/set-mode': async (p) => (await get().setMode(p.accountId, p.mode), {}),
    'accounts/set-mark': async (p) => (await get().setMark(p.mark), {}),
  };
}

type DeviceHandlers = {
  [C in keyof DeviceCommands]: (
    payload: DeviceCommands[C]['payload'],
  ) => Promise<DeviceCommands[C]['result']>;
};

export function deviceHandlers(get: () => DeviceService = getDeviceService): DeviceHandlers {
  return {
    'devices/request-start': (p) =>
      get().startRequest(p.accountId, {
        name: p.name,
        browser: p.browser,
        mode: p.mode,
        mark: p.mark,
        ttlSeconds: p.ttlSeconds,
      }),
    'devices/request-status': (p) => get().requestStatus(p.accountId),
    'devices/request-confirm': (p) => get().confirmRequest(p.accountId, p.requestId),
    'devices/request-reject': (p) => get().rejectRequest(p.accountId, p.requestId),
    'devices/pending': async (p) => ({ requests: await get().pending(p.refresh) }),
    'devices/answer': (p) => get().answer(p.accountId, p.requestId),
    'devices/approve': (p) => get().approve(p.accountId, p.requestId),
    'devices/reject': async (p) => (await get().reject(p.accountId, p.requestId, p.reason), {}),
    'devices/list': async (p) => ({ devices: await get().listDevices(p.accountId) }),
    'devices/forget': async (p) => (await get().forget(p.accountId, p.deviceId), {}),
  };
}
