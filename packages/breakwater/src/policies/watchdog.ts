import { systemClock, type Clock } from './clock.js';
import { schedulerFor } from './deadline-scheduler.js';

export interface WatchdogOptions {
  /** Longest silence between two `touch()` calls (ms). */
  idleMs: number;
  /** Absolute end on the clock (ms), whatever the activity. Default none. */
  deadline?: number;
  /** Called once, when the silence or the deadline is reached. */
  onExpire: (reason: 'idle' | 'deadline') => void;
  clock?: Clock;
}

export interface Watchdog {
  /** Activity: the idle period starts again (a clock reading, no timer). */
  touch(): void;
  stop(): void;
}

/**
 * An idle timeout for a stream of events: one entry in the shared deadline scheduler per idle
 * period, not a timer (or a promise) per event. When its entry fires it looks at the last
 * activity and either expires or schedules itself again.
 */
export function watchdog(options: WatchdogOptions): Watchdog {
  const clock = options.clock ?? systemClock;
  const scheduler = schedulerFor(clock);
  const deadline = options.deadline ?? Infinity;
  let last = clock.now();
  let stopped = false;
  let entry: ReturnType<typeof scheduler.schedule> | undefined;
  const arm = (): void => {
    entry = scheduler.schedule(Math.min(last + options.idleMs, deadline), check);
  };
  const check = (): void => {
    if (stopped) return;
    const now = clock.now();
    if (now >= deadline) expire('deadline');
    else if (now - last >= options.idleMs) expire('idle');
    else arm();
  };
  const expire = (reason: 'idle' | 'deadline'): void => {
    stopped = true;
    options.onExpire(reason);
  };
  arm();
  return {
    touch: () => {
      last = clock.now();
    },
    stop: () => {
      stopped = true;
      if (entry) scheduler.cancel(entry);
    },
  };
}
