/**
 * DeviceService: device approval wired into the engine (docs/device-approval.md §7).
 *
 * New device (connected, keys on the server, not unlocked here):
 *   startRequest()  → NewDeviceSession.start over `/.cipherfold/devices/` (DAV), shows the code once the
 *                     trusted device answered, confirmRequest() after the user compared the codes,
 *                     and on approval unlocks with the received words through AccountService.unlockWithWords
 *                     (the same path as typing them), then records itself as this profile's device.
 *   Rejection / expiry / cancel end the session: the ephemeral key is dropped, the request files deleted.
 *
 * Trusted device (unlocked): a timer lists the folder every `pollMs` (15 s) while any account is unlocked,
 * and every `fastPollMs` while an exchange runs; `pending()` lists requests for the popup; `answer()`,
 * `approve()`, `reject()` drive TrustedDeviceSession. Every approval/rejection is audited; approved devices
 * go into the vault's device list; handled request ids are recorded (single use). The number of requests
 * waiting for the user is reported through `onBadge` (the background sets the toolbar badge).
 *
 * Presence: each approved device, while unlocked, writes `seen-<deviceId>.json` {at} at most hourly, so
 * the device list can show when a device was last active. It is informative only (the server could fake it).
 */
import { requireAccount } from './accounts/require-account';
import { fail, isCipherfoldError, type CipherfoldError } from '../errors';
import { fromUtf8, utf8 } from '../crypto/bytes';
import {
  NewDeviceSession,
  TrustedDeviceSession,
  cleanupStale,
  encodeMessage,
  fileName,
  isApprovalError,
  listRequests,
  type ApprovalTransport,
  type DeviceInfo,
  type HandledRequests,
  type NewDeviceState,
  type PendingRequest,
  type RejectionReason,
  type TrustedDeviceState,
} from '../device-approval';
import type { KeepMode, MarkChoice } from '../messages/accounts';
import type { ApprovalRequestView, DeviceView, PendingApproval } from '../messages/devices';
import { NextcloudClient, type FetchLike } from '../nextcloud';
import { systemClock, type AccountId, type AccountView, type Clock, type Vault } from '../vault';
import type { AccountService } from './account-service';
import { DavApprovalTransport } from './devices/dav-transport';

export interface DeviceServiceOptions {
  accounts: AccountService;
  /** The same vault the AccountService uses (its unlocked sessions live in that instance). */
  vault: Vault | Promise<Vault> | (() => Promise<Vault>);
  fetch?: FetchLike;
  clock?: Clock;
  /** Wraps the DAV transport of an account (tests: a malicious server). */
  transportFor?: (accountId: string, dav: ApprovalTransport) => ApprovalTransport;
  /** Called with the number of requests waiting for this device's user, whenever it changes. */
  onBadge?: (count: number) => void;
  /** Start the polling timer (default true; tests call `tick()` themselves). */
  autoPoll?: boolean;
  pollMs?: number;
  fastPollMs?: number;
}

interface NewEntry {
  accountId: AccountId;
  session: NewDeviceSession | null;
  device: DeviceInfo;
  mode: KeepMode | null;
  mark: MarkChoice | null;
  view: ApprovalRequestView;
}

interface TrustedEntry {
  accountId: AccountId;
  session: TrustedDeviceSession;
  view: PendingApproval;
  /** When a finished entry stops being listed. */
  dropAt: number | null;
}

const NEW_TERMINAL = new Set(['none', 'approved', 'rejected', 'expired', 'cancelled', 'failed']);
/** Finished exchanges stay in the popup list this long, so the user sees how they ended. */
const SHOW_FINISHED_MS = 60_000;
const PRESENCE_WRITE_MS = 60 * 60_000;
const PRESENCE_READ_MS = 5 * 60_000;
const CLEANUP_MS = 10 * 60_000;

const REJECTED_TEXT: Record<RejectionReason, string> = {
  user: 'The other device declined this request. This device was not added. If that was a mistake, start again.',
  'code-mismatch':
    'The codes on the two devices did not match, so the approval was stopped. Someone may have interfered with it. Nothing was sent. Start again, and tell your administrator if it happens again.',
  'commitment-mismatch':
    'Your other device found that this request was altered on the way, so it stopped. Someone may be intercepting the approval. Nothing was sent. Tell your administrator.',
  expired:
    'The request expired before it was approved (requests last 10 minutes). Nothing was sent. Start again.',
  cancelled: 'The request was cancelled. Nothing was sent. Start again if you still want to add this device.',
};

export class DeviceService {
  private readonly accounts: AccountService;
  private readonly vaultSource: DeviceServiceOptions['vault'];
  private vaultPromise: Promise<Vault> | undefined;
  private readonly fetchFn: FetchLike;
  private readonly clock: Clock;
  private readonly transportFor: NonNullable<DeviceServiceOptions['transportFor']>;
  private readonly onBadge: (count: number) => void;
  private readonly autoPoll: boolean;
  private readonly pollMs: number;
  private readonly fastPollMs: number;

  private readonly newEntries = new Map<AccountId, NewEntry>();
  private readonly trusted = new Map<string, TrustedEntry>();
  private readonly pendingByAccount = new Map<AccountId, { at: number; list: PendingRequest[] }>();
  private readonly transports = new Map<AccountId, { appPassword: string; transport: ApprovalTransport }>();
  private readonly presenceWritten = new Map<AccountId, number>();
  private readonly presenceRead = new Map<AccountId, number>();
  private lastCleanup = 0;
  private lastBadge = -1;
  private timer: unknown;
  private ticking: Promise<void> | null = null;
  private readonly locks = new Map<string, Promise<unknown>>();
  private stopped = false;

  constructor(options: DeviceServiceOptions) {
    this.accounts = options.accounts;
    this.vaultSource = options.vault;
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.clock = options.clock ?? systemClock;
    this.transportFor = options.transportFor ?? ((_id, t) => t);
    this.onBadge = options.onBadge ?? (() => undefined);
    this.autoPoll = options.autoPoll ?? true;
    this.pollMs = options.pollMs ?? 15_000;
    this.fastPollMs = options.fastPollMs ?? 1_500;
    if (this.autoPoll) {
      this.accounts.onChange(() => this.kick());
      this.schedule(1_000);
    }
  }

  /** Stops the timer (tests, engine shutdown). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  // ------------------------------------------------------------------ new device

  async startRequest(
    accountId: string,
    opts: {
      name: string;
      browser: string;
      mode: KeepMode | null;
      mark: MarkChoice | null;
      ttlSeconds: number | null;
    },
  ): Promise<ApprovalRequestView> {
    const vault = await this.vault();
    const acc = await requireAccount(vault, accountId);
    const id = acc.id;
    if (vault.isUnlocked(id)) {
      throw fail(
        'conflict',
        'Cipherfold is already unlocked for this account on this device. Nothing was sent. You can close this tab.',
      );
    }
    if (!acc.hasKeys) {
      const state = await this.accounts.keyState(id);
      if (state !== 'complete') {
        throw fail(
          'not-found',
          state === 'none'
            ? 'Your account has no encryption keys yet, so no other device can approve this one. Nothing was sent. Set up encryption on this device instead.'
            : 'Encryption setup for your account was started on another device but not finished. Nothing was sent. Finish the setup on that device first.',
        );
      }
    }
    await this.withLock(`new:${id}`, async () => {
      const old = this.newEntries.get(id);
      if (old?.session && !NEW_TERMINAL.has(old.view.step)) await old.session.cancel().catch(() => undefined);
      const device = { name: opts.name.trim().slice(0, 100), browser: opts.browser.slice(0, 100) };
      const session = await NewDeviceSession.start({
        transport: await this.transport(vault, acc),
        device,
        now: () => this.clock.now(),
        ...(opts.ttlSeconds !== null ? { ttlMs: opts.ttlSeconds * 1000 } : {}),
      });
      const entry: NewEntry = {
        accountId: id,
        session,
        device,
        mode: opts.mode,
        mark: opts.mark,
        view: viewOfNew(session.state, session.requestId, session.request.expiresAt),
      };
      this.newEntries.set(id, entry);
      await vault
        .appendAudit(id, {
          type: 'device-approval-requested',
          requestId: session.requestId,
          deviceName: device.name,
        })
        .catch(() => undefined);
    });
    this.kick();
    return this.requestView(id);
  }

  /** The new device's state; moves the exchange forward first. */
  async requestStatus(accountId: string): Promise<ApprovalRequestView> {
    const vault = await this.vault();
    const { id } = await requireAccount(vault, accountId);
    const entry = this.newEntries.get(id);
    if (entry) await this.advanceNew(entry);
    return this.requestView(id);
  }

  /** The user saw the same code on both devices. */
  async confirmRequest(accountId: string, requestId: string): Promise<ApprovalRequestView> {
    const entry = await this.newEntry(accountId, requestId);
    await this.withLock(`new:${entry.accountId}`, async () => {
      if (entry.session?.state.step !== 'confirm-code') {
        throw fail(
          'conflict',
          'There is no code to confirm right now. The request may have ended. Check the page and start again if needed.',
        );
      }
      entry.session.confirmCode();
      entry.view = viewOfNew(entry.session.state, entry.session.requestId, entry.session.request.expiresAt);
    });
    await this.advanceNew(entry);
    this.kick();
    return this.requestView(entry.accountId);
  }

  /** The codes differ (in the code step) or the user cancels (any earlier step). */
  async rejectRequest(accountId: string, requestId: string): Promise<ApprovalRequestView> {
    const entry = await this.newEntry(accountId, requestId);
    const vault = await this.vault();
    await this.withLock(`new:${entry.accountId}`, async () => {
      const s = entry.session;
      if (!s || NEW_TERMINAL.has(entry.view.step)) return;
      const step = s.state.step;
      if (step === 'confirm-code' || step === 'waiting-for-approval') await s.rejectCode();
      else await s.cancel();
      entry.view = viewOfNew(s.state, s.requestId, s.request.expiresAt);
      await vault
        .appendAudit(entry.accountId, {
          type: 'device-rejected',
          requestId: s.requestId,
          deviceName: entry.device.name,
          reason: step === 'confirm-code' || step === 'waiting-for-approval' ? 'code-mismatch' : 'user',
        })
        .catch(() => undefined);
    });
    return this.requestView(entry.accountId);
  }

  private requestView(id: AccountId): ApprovalRequestView {
    return (
      this.newEntries.get(id)?.view ?? {
        step: 'none',
        requestId: null,
        code: null,
        expiresAt: null,
        message: null,
      }
    );
  }

  private async newEntry(accountId: string, requestId: string): Promise<NewEntry> {
    const vault = await this.vault();
    const { id } = await requireAccount(vault, accountId);
    const entry = this.newEntries.get(id);
    if (!entry || entry.view.requestId !== requestId) {
      throw fail(
        'not-found',
        'This approval request is no longer active on this device. It may have ended or been replaced. Start again.',
      );
    }
    return entry;
  }

  private async advanceNew(entry: NewEntry): Promise<void> {
    await this.withLock(`new:${entry.accountId}`, async () => {
      const s = entry.session;
      if (!s || NEW_TERMINAL.has(entry.view.step) || entry.view.step === 'unlocking') return;
      let state: NewDeviceState;
      try {
        state = await s.poll();
      } catch (e) {
        if (isApprovalError(e) || s.state.step === 'failed') {
          entry.view = failedView(s.requestId, e);
          entry.session = null;
        }
        // A network error leaves the session as it was; the next poll tries again.
        return;
      }
      if (state.step !== 'approved') {
        entry.view = viewOfNew(state, s.requestId, s.request.expiresAt);
        if (state.step === 'rejected' || state.step === 'expired') {
          const vault = await this.vault();
          await vault
            .appendAudit(entry.accountId, {
              type: 'device-rejected',
              requestId: s.requestId,
              deviceName: entry.device.name,
              reason:
                state.step === 'expired'
                  ? 'expired'
                  : state.reason === 'user' || state.reason === 'cancelled'
                    ? 'user'
                    : 'code-mismatch',
            })
            .catch(() => undefined);
        }
        if (NEW_TERMINAL.has(state.step)) entry.session = null;
        return;
      }
      // Approved: unlock exactly like an unlock by words.
      entry.view = { ...entry.view, step: 'unlocking', message: null };
      const secret = state.secret;
      entry.session = null;
      try {
        const acc = await requireAccount(await this.vault(), entry.accountId);
        if (secret.userId !== acc.userId || secret.origin !== acc.origin) {
          throw fail(
            'conflict',
            'The approval came for another account or server than this one. Nothing was stored. Start again from the right account.',
          );
        }
        await this.accounts.unlockWithWords(entry.accountId, secret.words, entry.mode, entry.mark);
        const vault = await this.vault();
        await vault.addDevice(entry.accountId, {
          deviceId: secret.deviceId,
          name: entry.device.name,
          browser: entry.device.browser,
          current: true,
        });
        entry.view = { ...entry.view, step: 'approved', message: null };
      } catch (e) {
        entry.view = failedView(entry.view.requestId, e);
      } finally {
        secret.words.fill('');
      }
    });
  }

  // ------------------------------------------------------------------ trusted device

  /** Requests waiting on every unlocked account, plus exchanges in progress or just finished. */
  async pending(refresh: boolean): Promise<PendingApproval[]> {
    const vault = await this.vault();
    const now = this.clock.now();
    const out: PendingApproval[] = [];
    for (const acc of await vault.listAccounts()) {
      if (!vault.isUnlocked(acc.id)) continue;
      const cached = this.pendingByAccount.get(acc.id);
      if (refresh || !cached) await this.refreshAccount(vault, acc);
    }
    for (const e of this.trusted.values()) await this.advanceTrusted(e);
    for (const [accountId, { list }] of this.pendingByAccount) {
      if (!vault.isUnlocked(accountId)) continue;
      const forgotten = (await vault.listDevices(accountId, { includeForgotten: true })).filter(
        (d) => d.forgotten,
      );
      for (const r of list) {
        if (this.trusted.has(key(accountId, r.requestId)) || now > r.expiresAt) continue;
        out.push({
          accountId,
          requestId: r.requestId,
          name: r.device.name,
          browser: r.device.browser,
          createdAt: r.createdAt,
          expiresAt: r.expiresAt,
          step: 'new',
          code: null,
          forgottenMatch: forgotten.some((d) => d.name === r.device.name && d.browser === r.device.browser),
          message: null,
        });
      }
    }
    for (const [k, e] of this.trusted) {
      if (e.dropAt !== null && now > e.dropAt) {
        this.trusted.delete(k);
        continue;
      }
      if (vault.isUnlocked(e.accountId)) out.push(e.view);
    }
    out.sort((a, b) => b.createdAt - a.createdAt);
    this.reportBadge(out);
    return out;
  }

  /** Starts the exchange for one request (records it as handled: single use). */
  async answer(accountId: string, requestId: string): Promise<PendingApproval> {
    const vault = await this.vault();
    const acc = await requireAccount(vault, accountId);
    this.requireUnlocked(vault, acc.id);
    const k = key(acc.id, requestId);
    const existing = this.trusted.get(k);
    if (existing && existing.dropAt === null) return existing.view;
    if (existing) {
      throw fail(
        'conflict',
        'This request was already handled on this device. A request can be used only once. Start again on the new device.',
      );
    }
    const transport = await this.transport(vault, acc);
    const session = await TrustedDeviceSession.answer({
      transport,
      requestId,
      handled: this.handledFor(vault, acc.id),
      now: () => this.clock.now(),
    });
    const forgotten = (await vault.listDevices(acc.id, { includeForgotten: true })).some(
      (d) =>
        d.forgotten && d.name === session.request.device.name && d.browser === session.request.device.browser,
    );
    const entry: TrustedEntry = {
      accountId: acc.id,
      session,
      dropAt: null,
      view: {
        accountId: acc.id,
        requestId,
        name: session.request.device.name,
        browser: session.request.device.browser,
        createdAt: session.request.createdAt,
        expiresAt: session.request.expiresAt,
        step: 'waiting-for-code',
        code: null,
        forgottenMatch: forgotten,
        message: null,
      },
    };
    this.trusted.set(k, entry);
    await this.advanceTrusted(entry);
    this.kick();
    return entry.view;
  }

  /** The user saw the same code on both devices: sends the recovery words sealed for the new device. */
  async approve(accountId: string, requestId: string): Promise<{ deviceId: string }> {
    const vault = await this.vault();
    const acc = await requireAccount(vault, accountId);
    this.requireUnlocked(vault, acc.id);
    const entry = this.trustedEntry(acc.id, requestId);
    return this.withLock(`t:${key(acc.id, requestId)}`, async () => {
      if (entry.session.state.step !== 'confirm-code') {
        throw fail(
          'conflict',
          'This request cannot be approved now: the codes are not shown yet, or the request ended. Wait for the code, or start again on the new device.',
        );
      }
      const words = await vault.revealWords(acc.id);
      let result;
      try {
        result = await entry.session.approve({ words, userId: acc.userId, origin: acc.origin });
      } catch (e) {
        this.finishTrusted(entry, e);
        throw e;
      } finally {
        words.fill('');
      }
      await vault.recordDeviceApproved(acc.id, requestId, {
        deviceId: result.deviceId,
        name: result.device.name,
        browser: result.device.browser,
      });
      entry.view = { ...entry.view, step: 'approved', code: null, message: null };
      entry.dropAt = this.clock.now() + SHOW_FINISHED_MS;
      this.reportBadgeSoon();
      return { deviceId: result.deviceId };
    });
  }

  /** Declines a request, before or after the codes were shown. */
  async reject(accountId: string, requestId: string, reason: 'user' | 'code-mismatch'): Promise<void> {
    const vault = await this.vault();
    const acc = await requireAccount(vault, accountId);
    this.requireUnlocked(vault, acc.id);
    const entry = this.trusted.get(key(acc.id, requestId));
    let deviceName: string;
    if (entry) {
      await this.withLock(`t:${key(acc.id, requestId)}`, () => entry.session.reject(reason));
      entry.view = { ...entry.view, step: 'rejected', code: null, message: null };
      entry.dropAt = this.clock.now() + SHOW_FINISHED_MS;
      deviceName = entry.view.name;
    } else {
      // Not answered yet: record it as handled and leave a rejection marker for the new device.
      const pending = this.pendingByAccount.get(acc.id)?.list.find((r) => r.requestId === requestId);
      if (!pending) {
        throw fail('not-found', 'This request is gone. The new device may have cancelled it, or it expired.');
      }
      await vault.markRequestHandled(acc.id, requestId);
      const transport = await this.transport(vault, acc);
      await transport.put(
        fileName('rejected', requestId),
        encodeMessage({ type: 'rejected', requestId, at: this.clock.now(), reason }),
      );
      const cached = this.pendingByAccount.get(acc.id);
      if (cached) cached.list = cached.list.filter((r) => r.requestId !== requestId);
      deviceName = pending.device.name;
    }
    await vault.appendAudit(acc.id, { type: 'device-rejected', requestId, deviceName, reason });
    this.reportBadgeSoon();
  }

  private trustedEntry(id: AccountId, requestId: string): TrustedEntry {
    const entry = this.trusted.get(key(id, requestId));
    if (!entry) {
      throw fail(
        'not-found',
        'This request is not being answered on this device. Open the popup again and choose it from the list.',
      );
    }
    return entry;
  }

  private async advanceTrusted(entry: TrustedEntry): Promise<void> {
    if (entry.dropAt !== null) return;
    await this.withLock(`t:${key(entry.accountId, entry.view.requestId)}`, async () => {
      if (entry.dropAt !== null) return;
      let state: TrustedDeviceState;
      try {
        state = await entry.session.poll();
      } catch (e) {
        if (isApprovalError(e) || entry.session.state.step === 'failed') this.finishTrusted(entry, e);
        return;
      }
      if (state.step === 'waiting-for-reveal') return;
      if (state.step === 'confirm-code') {
        entry.view = { ...entry.view, step: 'confirm-code', code: state.code };
        return;
      }
      this.finishTrusted(entry, null);
    });
  }

  /** Terminal states of a trusted exchange: the view says how it ended, and the audit log records it. */
  private finishTrusted(entry: TrustedEntry, error: unknown): void {
    const s = entry.session.state;
    const id = entry.view.requestId;
    let reason: 'user' | 'code-mismatch' | 'expired' | null = null;
    let message: string;
    if (s.step === 'rejected') {
      reason =
        s.reason === 'expired'
          ? 'expired'
          : s.reason === 'user' || s.reason === 'cancelled'
            ? 'user'
            : 'code-mismatch';
      message =
        s.reason === 'code-mismatch'
          ? 'The new device reported that the codes differ. Nothing was sent. Someone may have interfered; do not approve a request you did not start.'
          : s.reason === 'expired'
            ? 'The request expired. Nothing was sent.'
            : 'The new device cancelled the request. Nothing was sent.';
    } else if (s.step === 'expired') {
      reason = 'expired';
      message = 'The request expired before it was approved. Nothing was sent.';
    } else if (s.step === 'taken') {
      message = 'Another of your devices is answering this request. Nothing was sent from this one.';
    } else {
      if (isApprovalError(error, 'commitment-mismatch')) reason = 'code-mismatch';
      message = isCipherfoldError(error)
        ? error.message
        : 'The approval stopped because of an unexpected problem. Nothing was sent. Start again on the new device.';
    }
    entry.view = {
      ...entry.view,
      step:
        s.step === 'approved'
          ? 'approved'
          : s.step === 'rejected' || s.step === 'expired'
            ? 'rejected'
            : 'failed',
      code: null,
      message,
    };
    entry.dropAt = this.clock.now() + SHOW_FINISHED_MS;
    if (reason !== null) {
      void this.vault()
        .then((v) =>
          v.appendAudit(entry.accountId, {
            type: 'device-rejected',
            requestId: id,
            deviceName: entry.view.name,
            reason,
          }),
        )
        .catch(() => undefined);
    }
    this.reportBadgeSoon();
  }

  // ------------------------------------------------------------------ device list

  async listDevices(accountId: string): Promise<DeviceView[]> {
    const vault = await this.vault();
    const { id } = await requireAccount(vault, accountId);
    return (await vault.listDevices(id, { includeForgotten: true }))
      .map((d) => ({
        deviceId: d.deviceId,
        name: d.name,
        browser: d.browser,
        approvedAt: d.approvedAt,
        lastSeen: d.lastSeen,
        forgotten: d.forgotten,
        current: d.current === true,
      }))
      .sort((a, b) => Number(b.current) - Number(a.current) || b.approvedAt - a.approvedAt);
  }

  /**
   * Marks a device forgotten: it is no longer listed as approved, its presence notes are ignored, and a
   * new request that describes itself the same way is flagged. It cannot take back words it already has.
   */
  async forget(accountId: string, deviceId: string): Promise<void> {
    const vault = await this.vault();
    const acc = await requireAccount(vault, accountId);
    await vault.forgetDevice(acc.id, deviceId);
    try {
      await (await this.transport(vault, acc)).delete(`seen-${deviceId}.json`);
    } catch {
      /* best effort */
    }
  }

  // ------------------------------------------------------------------ polling

  /** One round: advance every exchange, list requests of unlocked accounts, presence, badge, cleanup. */
  async tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = this.runTick().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    const vault = await this.vault();
    await this.accounts.status().catch(() => undefined); // runs the idle auto-lock check
    for (const e of [...this.newEntries.values()]) await this.advanceNew(e).catch(() => undefined);
    const now = this.clock.now();
    for (const acc of await vault.listAccounts()) {
      if (!vault.isUnlocked(acc.id)) {
        this.pendingByAccount.delete(acc.id);
        continue;
      }
      await this.refreshAccount(vault, acc).catch(() => undefined);
      await this.presence(vault, acc, now).catch(() => undefined);
    }
    if (now - this.lastCleanup > CLEANUP_MS && ![...this.trusted.values()].some((e) => e.dropAt === null)) {
      this.lastCleanup = now;
      for (const acc of await vault.listAccounts()) {
        if (!vault.isUnlocked(acc.id)) continue;
        await cleanupStale(await this.transport(vault, acc), { now: () => this.clock.now() }).catch(() => []);
      }
    }
    await this.pending(false).catch(() => undefined);
  }

  private async refreshAccount(vault: Vault, acc: AccountView): Promise<void> {
    const transport = await this.transport(vault, acc);
    const { pending } = await listRequests(transport, {
      handled: this.handledFor(vault, acc.id),
      now: () => this.clock.now(),
    });
    this.pendingByAccount.set(acc.id, { at: this.clock.now(), list: pending });
  }

  private async presence(vault: Vault, acc: AccountView, now: number): Promise<void> {
    const devices = await vault.listDevices(acc.id, { includeForgotten: true });
    const own = devices.find((d) => d.current && !d.forgotten);
    const transport = await this.transport(vault, acc);
    if (own && now - (this.presenceWritten.get(acc.id) ?? 0) > PRESENCE_WRITE_MS) {
      this.presenceWritten.set(acc.id, now);
      await transport.put(
        `seen-${own.deviceId}.json`,
        utf8(JSON.stringify({ cipherfold: 'device-seen', v: 1, at: now })),
      );
    }
    const others = devices.filter((d) => !d.current && !d.forgotten);
    if (others.length === 0 || now - (this.presenceRead.get(acc.id) ?? 0) < PRESENCE_READ_MS) return;
    this.presenceRead.set(acc.id, now);
    const names = new Set(await transport.list(''));
    for (const d of others) {
      const n = `seen-${d.deviceId}.json`;
      if (!names.has(n)) continue;
      const at = parseSeen(await transport.get(n));
      if (at !== null) await vault.touchDevice(acc.id, d.deviceId, Math.min(at, now));
    }
  }

  private kick(): void {
    if (!this.autoPoll || this.stopped) return;
    this.schedule(200);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.tick()
        .catch(() => undefined)
        .finally(() => void this.scheduleNext());
    }, ms);
  }

  private async scheduleNext(): Promise<void> {
    if (this.stopped || this.timer !== undefined) return;
    const busy =
      [...this.newEntries.values()].some((e) => !NEW_TERMINAL.has(e.view.step)) ||
      [...this.trusted.values()].some((e) => e.dropAt === null);
    if (busy) return this.schedule(this.fastPollMs);
    const vault = await this.vault().catch(() => null);
    const anyUnlocked = vault ? (await vault.listAccounts()).some((a) => vault.isUnlocked(a.id)) : false;
    if (anyUnlocked) this.schedule(this.pollMs);
    else if (this.lastBadge !== 0) this.reportCount(0);
    // Otherwise idle until an account changes (onChange → kick).
  }

  private reportBadge(list: PendingApproval[]): void {
    this.reportCount(
      list.filter((r) => r.step === 'new' || r.step === 'waiting-for-code' || r.step === 'confirm-code')
        .length,
    );
  }

  private reportBadgeSoon(): void {
    void this.pending(false).catch(() => undefined);
  }

  private reportCount(count: number): void {
    if (count === this.lastBadge) return;
    this.lastBadge = count;
    try {
      this.onBadge(count);
    } catch {
      /* the badge is cosmetic */
    }
  }

  // ------------------------------------------------------------------ internals

  private vault(): Promise<Vault> {
    this.vaultPromise ??= (async () => {
      const v = this.vaultSource;
      return typeof v === 'function' ? v() : v;
    })().catch((e: unknown) => {
      this.vaultPromise = undefined;
      throw e;
    });
    return this.vaultPromise;
  }

  private requireUnlocked(vault: Vault, id: AccountId): void {
    if (!vault.isUnlocked(id)) {
      throw fail(
        'mnemonic',
        'Cipherfold is locked on this device. Only an unlocked device can approve another one. Unlock it, then try again.',
        { detail: 'vault-locked' },
      );
    }
  }

  private handledFor(vault: Vault, id: AccountId): HandledRequests {
    return {
      markHandled: (r) => vault.markRequestHandled(id, r),
      isHandled: (r) => vault.isRequestHandled(id, r),
    };
  }

  private async transport(vault: Vault, acc: AccountView): Promise<ApprovalTransport> {
    const appPassword = await vault.getAppPassword(acc.id);
    const cached = this.transports.get(acc.id);
    if (cached && cached.appPassword === appPassword) return cached.transport;
    const client = new NextcloudClient({
      baseUrl: acc.serverUrl,
      auth: { loginName: acc.loginName, appPassword },
      userId: acc.userId,
      fetch: this.fetchFn,
    });
    const transport = this.transportFor(acc.id, new DavApprovalTransport(client));
    this.transports.set(acc.id, { appPassword, transport });
    return transport;
  }

  /** Runs `fn` after every earlier call with the same key finished (one exchange step at a time). */
  private withLock<T>(k: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(k) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(k, tail);
    void tail.then(() => {
      if (this.locks.get(k) === tail) this.locks.delete(k);
    });
    return run;
  }
}

function key(accountId: string, requestId: string): string {
  return `${accountId}\n${requestId}`;
}

function viewOfNew(state: NewDeviceState, requestId: string, expiresAt: number): ApprovalRequestView {
  const base = { requestId, expiresAt, code: null, message: null };
  switch (state.step) {
    case 'waiting-for-answer':
      return { ...base, step: 'waiting-for-answer' };
    case 'confirm-code':
    case 'waiting-for-approval':
      return { ...base, step: state.step, code: state.code };
    case 'approved':
      return { ...base, step: 'unlocking' };
    case 'rejected':
      return { ...base, step: 'rejected', message: REJECTED_TEXT[state.reason] };
    case 'expired':
      return { ...base, step: 'expired', message: REJECTED_TEXT.expired };
    case 'cancelled':
      return { ...base, step: 'cancelled', message: REJECTED_TEXT.cancelled };
    case 'failed':
      return { ...base, step: 'failed', message: state.error.message };
  }
}

function failedView(requestId: string | null, e: unknown): ApprovalRequestView {
  return {
    step: 'failed',
    requestId,
    code: null,
    expiresAt: null,
    message: isCipherfoldError(e)
      ? (e as CipherfoldError).message
      : 'The approval stopped because of an unexpected problem. Nothing was stored. Start again.',
  };
}

function parseSeen(bytes: Uint8Array | null): number | null {
  if (!bytes || bytes.length > 256) return null;
  try {
    const o = JSON.parse(fromUtf8(bytes)) as unknown;
    if (typeof o !== 'object' || o === null) return null;
    const r = o as Record<string, unknown>;
    if (r.cipherfold !== 'device-seen' || r.v !== 1) return null;
    return typeof r.at === 'number' && Number.isSafeInteger(r.at) && r.at > 0 ? r.at : null;
  } catch {
    return null;
  }
}
