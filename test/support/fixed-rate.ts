import { performance } from 'node:perf_hooks';

/**
 * Calls `send(i, due)` `perSecond` times a second for `ms` — on schedule, without waiting for answers
 * (an open-loop load, as independent clients make it) — and resolves once every call settled, with
 * how many were made. `due` is the call's scheduled moment (`performance.now()` time): a latency
 * counted from it charges a late send to the server that made the sender late. `beforeEach` sees
 * the time elapsed before each call.
 */
export async function atFixedRate(
  perSecond: number,
  ms: number,
  send: (i: number, due: number) => Promise<unknown>,
  beforeEach?: (elapsedMs: number) => void,
): Promise<number> {
  const inFlight: Array<Promise<unknown>> = [];
  const started = performance.now();
  for (let i = 0; ; i++) {
    const due = started + (i * 1000) / perSecond;
    if (due - started >= ms) break;
    // A timer can fire early by the clock (the event loop's time is read once per turn): wait again
    // until the moment has come, so no call leaves before its time.
    for (let wait = due - performance.now(); wait > 0; wait = due - performance.now())
      await new Promise((resolve) => setTimeout(resolve, wait));
    beforeEach?.(performance.now() - started);
    inFlight.push(send(i, due));
  }
  await Promise.all(inFlight);
  return inFlight.length;
}
