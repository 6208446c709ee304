/**
 * Calls `send(i)` `perSecond` times a second for `ms` — on schedule, without waiting for answers
 * (an open-loop load, as independent clients make it) — and resolves once every call settled, with
 * how many were made. `beforeEach` sees the time elapsed before each call.
 */
export async function atFixedRate(
  perSecond: number,
  ms: number,
  send: (i: number) => Promise<unknown>,
  beforeEach?: (elapsedMs: number) => void,
): Promise<number> {
  const inFlight: Array<Promise<unknown>> = [];
  const started = Date.now();
  for (let i = 0; ; i++) {
    const due = started + (i * 1000) / perSecond;
    if (due - started >= ms) break;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    beforeEach?.(Date.now() - started);
    inFlight.push(send(i));
  }
  await Promise.all(inFlight);
  return inFlight.length;
}
