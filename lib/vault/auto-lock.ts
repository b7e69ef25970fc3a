/**
 * Idle auto-lock: call `touch()` on user activity; after `minutes` without a touch, `onLock` runs once.
 * Timers may not fire in a suspended service worker or a sleeping laptop, so `check()` (call it when the
 * context wakes up or before using a key) locks when the deadline has passed by the clock.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>),
};

export class AutoLock {
  private handle: unknown = undefined;
  private deadlineAt: number | undefined = undefined;
  private minutes: number;
  private readonly clock: Clock;
  private readonly onLock: () => void | Promise<void>;

  /** `minutes` = 0 disables the timer. The timer starts at the first `touch()`. */
  constructor(options: { minutes: number; onLock: () => void | Promise<void>; clock?: Clock }) {
    this.minutes = AutoLock.validMinutes(options.minutes);
    this.onLock = options.onLock;
    this.clock = options.clock ?? systemClock;
  }

  private static validMinutes(m: number): number {
    if (!Number.isFinite(m) || m < 0) return 0;
    return m;
  }

  /** Millisecond time at which the vault will lock, or undefined when not armed. */
  get deadline(): number | undefined {
    return this.deadlineAt;
  }

  touch(): void {
    this.clear();
    if (this.minutes === 0) return;
    const ms = this.minutes * 60_000;
    this.deadlineAt = this.clock.now() + ms;
    this.handle = this.clock.setTimeout(() => void this.fire(), ms);
  }

  setMinutes(minutes: number): void {
    this.minutes = AutoLock.validMinutes(minutes);
    if (this.deadlineAt !== undefined) this.touch();
  }

  /** Locks now if the deadline has passed; returns true if it locked. */
  check(): boolean {
    if (this.deadlineAt !== undefined && this.clock.now() >= this.deadlineAt) {
      void this.fire();
      return true;
    }
    return false;
  }

  /** Disarms without locking (e.g. after a manual lock). */
  stop(): void {
    this.clear();
  }

  private clear(): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
    this.deadlineAt = undefined;
  }

  private async fire(): Promise<void> {
    if (this.deadlineAt === undefined) return;
    // A timer can fire early after clock adjustments; re-arm for the remainder instead of locking.
    const remaining = this.deadlineAt - this.clock.now();
    if (remaining > 0) {
      this.handle = this.clock.setTimeout(() => void this.fire(), remaining);
      return;
    }
    this.clear();
    await this.onLock();
  }
}
