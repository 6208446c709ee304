// Run as a child process by pipeline-leak.test.ts: a million calls through a full pipeline,
// including failures, retries, timeouts, cancellations and breaker rejections. Prints one JSON
// line with heap figures, listeners left on the caller's signal and active resources, then
// returns from top level: if anything kept the process alive, it would not exit.
import { getEventListeners, setMaxListeners } from 'node:events';
import {
  bulkhead,
  circuitBreaker,
  consecutiveFailures,
  constantBackoff,
  pipeline,
  rateLimiter,
  retry,
  retryBudget,
  timeout,
} from 'breakwater';

const TOTAL = Number(process.env.LEAK_CALLS ?? 1_000_000);
const run = pipeline(
  bulkhead({ maxConcurrent: 64, maxQueue: 256 }),
  rateLimiter({ perSecond: 1e9, burst: 1e9, keyOf: (ctx) => ctx.key }),
  retry({ maxAttempts: 2, backoff: constantBackoff(0), budget: retryBudget({ ratio: 0.5 }) }),
  circuitBreaker({ strategy: consecutiveFailures(50), breakMs: 1, maxKeys: 1_000 }),
  timeout(5, { mode: 'aggressive' }),
);
const shared = new AbortController();
// Each call in flight (up to 256 here: bulkhead waiters listen for the caller aborting) holds one listener while it runs; none may remain after.
setMaxListeners(1_000, shared.signal);
const failure = Object.assign(new Error('reset'), { code: 'ECONNRESET' });

async function call(i: number): Promise<void> {
  const kind = i % 100;
  await run
    .execute(
      async (ctx) => {
        if (kind === 0) throw failure; // retryable network failure
        if (i % 10_000 === 1) return new Promise((resolve) => setTimeout(resolve, 7)); // times out (aggressive, 5 ms)
        if (kind === 2) return ctx.signal.aborted; // reads the signal: deadline registered and released
        return i;
      },
      { key: `k${i % 5_000}`, signal: shared.signal },
    )
    .catch(() => undefined);
}

async function batch(from: number, to: number): Promise<void> {
  const work: Promise<void>[] = [];
  for (let i = from; i < to; i++) work.push(call(i));
  await Promise.all(work);
}

const heapAt = (): number => {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
};

const BATCH = 256;
await batch(0, 100_000);
const warmHeap = heapAt();
for (let i = 100_000; i < TOTAL; i += BATCH) await batch(i, Math.min(TOTAL, i + BATCH));
await new Promise((resolve) => setTimeout(resolve, 50));
const endHeap = heapAt();
console.log(
  JSON.stringify({
    calls: TOTAL,
    warmHeapMb: +(warmHeap / 2 ** 20).toFixed(1),
    endHeapMb: +(endHeap / 2 ** 20).toFixed(1),
    signalListeners: getEventListeners(shared.signal, 'abort').length,
    activeResources: process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap'),
  }),
);
