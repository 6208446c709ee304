import type { StoreHealth } from './store-health.js';

/**
 * One decision asked of a shared store, bounded: when the store is known to be out of reach the
 * local answer comes at once; when it is slow, after `timeoutMs`. Either way it is counted as a
 * fallback, and the caller never sees an error from the store.
 */
export function decide<T>(
  health: StoreHealth,
  timeoutMs: number,
  operation: string,
  unreachable: string | undefined,
  remote: () => Promise<T>,
  local: () => T,
): T | Promise<T> {
  if (unreachable !== undefined) {
    health.fellBack(operation, new Error(unreachable));
    return local();
  }
  return new Promise<T>((resolve) => {
    let done = false;
    const fallBack = (error: unknown): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      health.fellBack(operation, error);
      resolve(local());
    };
    // The bound is on the store, not on this process: when the timer fires, an answer that arrived
    // while our own event loop was busy (a GC pause, a cold start, a loaded machine) is still
    // unread — timers run before I/O in a loop turn. setImmediate runs after this turn's I/O, so
    // such an answer wins, and only a store that truly did not answer is fallen back from.
    const timer = setTimeout(
      () => setImmediate(() => fallBack(new Error(`no answer within ${timeoutMs} ms`))),
      timeoutMs,
    );
    let pending: Promise<T>;
    try {
      pending = remote();
    } catch (error) {
      fallBack(error);
      return;
    }
    pending.then((value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      health.succeeded();
      resolve(value);
    }, fallBack);
  });
}
