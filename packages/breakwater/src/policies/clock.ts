import type { AbortSource } from './cancellation.js';
/**
 * Time as the policies see it. Injected everywhere so tests move time instead of sleeping.
 * `now` is monotonic milliseconds (not wall time): durations must not jump with NTP.
 */
export interface Clock {
  now(): number;
  /**
   * Calls `fn` after `ms`. By default the timer never keeps the process alive. `keepAlive` is for
   * waits that are part of a call someone awaits (a retry's backoff, a hedge delay): they hold the
   * process exactly as long as the call, so `await pipeline.execute(…)` in a script cannot exit
   * mid-retry with "unsettled top-level await".
   */
  setTimer(fn: () => void, ms: number, keepAlive?: boolean): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export type TimerHandle = unknown;

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer: (fn, ms, keepAlive = false) => {
    const timer = setTimeout(fn, ms);
    if (!keepAlive) timer.unref();
    return timer;
  },
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Waits `ms` on the clock (keeping the process alive meanwhile); rejects as soon as the signal aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSource): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clock.clearTimer(handle);
      reject(signal!.reason);
    };
    const handle = clock.setTimer(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      ms,
      true,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
