import type { Clock, TimerHandle } from '../policies/clock.js';

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock whose time moves only when a test says so. `tick` runs due timers in order and lets
 * promise chains settle between them, so a retry waiting on Retry-After can be checked to the
 * millisecond without sleeping.
 */
export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  private timers: FakeTimer[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.time + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.length;
  }

  /** Advances time by `ms`, firing every timer that falls due, in order. */
  async tick(ms: number): Promise<void> {
    const target = this.time + ms;
    await settle();
    for (;;) {
      const next = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.time = next.at;
      next.fn();
      await settle();
    }
    this.time = target;
    await settle();
  }

  /** Fires timers until none is left (or `limitMs` of fake time has passed). */
  async runAll(limitMs = 24 * 60 * 60 * 1000): Promise<void> {
    const end = this.time + limitMs;
    await settle();
    while (this.timers.length > 0) {
      const next = Math.min(...this.timers.map((t) => t.at));
      if (next > end) break;
      await this.tick(next - this.time);
    }
  }
}

/** Lets every queued promise callback run (a macrotask turn drains the microtask queue). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
