import { describe, expect, it } from 'vitest';
import { AutoLock, type Clock } from '../../../lib/vault';

/** A manual clock: timers fire only when `advance` passes them. */
function manualClock(early = 1) {
  let t = 0;
  let next = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock: Clock & { advance(ms: number): void; pending(): number; jump(ms: number): void } = {
    now: () => t,
    setTimeout: (fn, ms) => {
      const id = next++;
      // A real timer never fires before 1 ms, however early it runs.
      timers.set(id, { at: t + Math.max(1, Math.floor(ms * early)), fn });
      return id;
    },
    clearTimeout: (h) => void timers.delete(h as number),
    advance(ms: number) {
      const end = t + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        t = Math.max(t, due[1].at);
        due[1].fn();
      }
      t = end;
    },
    /** The wall clock moves but no timer fires (suspended worker, sleeping laptop). */
    jump(ms: number) {
      t += ms;
    },
    pending: () => timers.size,
  };
  return clock;
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('AutoLock', () => {
  it('locks after N idle minutes, once', async () => {
    const clock = manualClock();
    let locks = 0;
    const a = new AutoLock({ minutes: 5, clock, onLock: () => void locks++ });
    a.touch();
    clock.advance(4 * 60_000);
    await flush();
    expect(locks).toBe(0);
    clock.advance(60_000);
    await flush();
    expect(locks).toBe(1);
    expect(a.deadline).toBeUndefined();
    clock.advance(60 * 60_000);
    await flush();
    expect(locks).toBe(1);
  });

  it('touch() postpones the lock', async () => {
    const clock = manualClock();
    let locks = 0;
    const a = new AutoLock({ minutes: 5, clock, onLock: () => void locks++ });
    a.touch();
    for (let i = 0; i < 10; i++) {
      clock.advance(4 * 60_000);
      a.touch();
    }
    await flush();
    expect(locks).toBe(0);
    expect(clock.pending()).toBe(1);
    clock.advance(5 * 60_000);
    await flush();
    expect(locks).toBe(1);
  });

  it('check() locks when timers did not fire but the deadline passed', async () => {
    const clock = manualClock();
    let locks = 0;
    const a = new AutoLock({ minutes: 1, clock, onLock: () => void locks++ });
    a.touch();
    expect(a.check()).toBe(false);
    clock.jump(61_000);
    expect(a.check()).toBe(true);
    await flush();
    expect(locks).toBe(1);
  });

  it('a timer firing early re-arms instead of locking', async () => {
    const clock = manualClock(0.5); // every timer fires after half its delay
    let locks = 0;
    const a = new AutoLock({ minutes: 2, clock, onLock: () => void locks++ });
    a.touch();
    clock.advance(60_000);
    await flush();
    expect(locks).toBe(0);
    expect(a.deadline).toBe(120_000);
    clock.advance(60_000);
    await flush();
    expect(locks).toBe(1);
  });

  it('0 minutes never locks; stop() disarms', async () => {
    const clock = manualClock();
    let locks = 0;
    const never = new AutoLock({ minutes: 0, clock, onLock: () => void locks++ });
    never.touch();
    const stopped = new AutoLock({ minutes: 1, clock, onLock: () => void locks++ });
    stopped.touch();
    stopped.stop();
    clock.advance(10 * 60_000);
    await flush();
    expect(locks).toBe(0);
    expect(never.deadline).toBeUndefined();
  });
});
