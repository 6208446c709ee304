import type { Clock, TimerHandle } from './clock.js';

/** What a deadline calls: a function, or an object with `onDeadline()` (no closure per deadline). */
export type DeadlineTarget = (() => void) | { onDeadline(): void };

export interface Entry {
  at: number;
  fire: DeadlineTarget | undefined;
}

/**
 * One timer for all deadlines on a clock. A timeout policy registers a deadline only when the callee
 * asks for a signal (or in aggressive mode), so the happy path creates no timer at all; when it
 * does register, the cost is a heap insert instead of a setTimeout + AbortController per call.
 */
export class DeadlineScheduler {
  private readonly heap: Entry[] = [];
  private timer: TimerHandle | undefined;
  private armedAt = Infinity;
  private cancelled = 0;

  constructor(private readonly clock: Clock) {}

  /** Runs `fire` at `at` (clock ms). Returns the entry, for `cancel` (O(1)). */
  schedule(at: number, fire: DeadlineTarget): Entry {
    const entry: Entry = { at, fire };
    this.push(entry);
    if (at < this.armedAt) this.arm();
    return entry;
  }

  /** Cancels a scheduled entry (a second cancel does nothing). */
  cancel(entry: Entry): void {
    if (entry.fire === undefined) return;
    entry.fire = undefined;
    // Cancelled entries are dropped lazily; compact when they dominate so memory stays bounded.
    if (++this.cancelled > 64 && this.cancelled > this.heap.length / 2) this.compact();
  }

  get size(): number {
    return this.heap.length - this.cancelled;
  }

  private arm(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    const next = this.heap[0];
    if (!next) {
      this.timer = undefined;
      this.armedAt = Infinity;
      return;
    }
    this.armedAt = next.at;
    this.timer = this.clock.setTimer(() => this.run(), Math.max(0, next.at - this.clock.now()));
  }

  private run(): void {
    this.timer = undefined;
    const now = this.clock.now();
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const entry = this.pop()!;
      if (entry.fire === undefined) {
        this.cancelled--;
        continue;
      }
      const fire = entry.fire;
      entry.fire = undefined;
      if (typeof fire === 'function') fire();
      else fire.onDeadline();
    }
    this.arm();
  }

  /**
   * Drops the cancelled entries. The timer stays armed: removing entries never makes the earliest
   * deadline earlier, and when it fires early it re-arms for what is left. Re-arming here instead
   * cost a clearTimeout and a setTimeout per compaction — on a steady flow of calls that each
   * settle before their deadline, once every ~65 calls.
   */
  private compact(): void {
    const live = this.heap.filter((e) => e.fire !== undefined);
    this.heap.length = 0;
    this.cancelled = 0;
    for (const entry of live) this.push(entry);
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= entry.at) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): Entry | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
      if (heap[child]!.at >= last.at) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}

const schedulers = new WeakMap<Clock, DeadlineScheduler>();
// Nearly every call uses one clock (the system's): remembered, it costs a comparison, not a lookup.
let lastClock: Clock | undefined;
let lastScheduler: DeadlineScheduler | undefined;

/** The shared scheduler of a clock. */
export function schedulerFor(clock: Clock): DeadlineScheduler {
  if (clock === lastClock) return lastScheduler!;
  let scheduler = schedulers.get(clock);
  if (!scheduler) schedulers.set(clock, (scheduler = new DeadlineScheduler(clock)));
  lastClock = clock;
  lastScheduler = scheduler;
  return scheduler;
}
