// npm run bench:overhead — what the policies add around `async () => 1`, against the peers
// configured the same way, in one run. Last line: one JSON object with the figures.
import {
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker as cbBreaker,
  handleAll,
  retry as cbRetry,
  timeout as cbTimeout,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import CircuitBreaker from 'opossum';
import { createRequire } from 'node:module';
import pRetry from 'p-retry';
import {
  circuitBreaker,
  consecutiveFailures,
  pipeline,
  retry,
  timeout,
  retryBudget,
  bulkhead,
  rateLimiter,
} from 'breakwater';
import { measureInterleaved, round, table } from './harness.js';

const fn = async (): Promise<number> => 1;

const bwRetry = pipeline(retry({ maxAttempts: 3 }));
const bwBreaker = pipeline(circuitBreaker({ strategy: consecutiveFailures(5) }));
const bwTrio = pipeline(retry({ maxAttempts: 3 }), circuitBreaker({ strategy: consecutiveFailures(5) }), timeout(1000));
const bwFull = pipeline(
  bulkhead({ maxConcurrent: 100, maxQueue: 100 }),
  rateLimiter({ perSecond: 1e9, burst: 1e9 }),
  retry({ maxAttempts: 3, budget: retryBudget() }),
  circuitBreaker({ strategy: consecutiveFailures(5) }),
  timeout(1000),
);

const cbRetryOnly = cbRetry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() });
const cbBreakerOnly = cbBreaker(handleAll, { halfOpenAfter: 5000, breaker: new ConsecutiveBreaker(5) });
const cbTrio = wrap(
  cbRetry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
  cbBreaker(handleAll, { halfOpenAfter: 5000, breaker: new ConsecutiveBreaker(5) }),
  cbTimeout(1000, TimeoutStrategy.Cooperative),
);
const opossumWithTimeout = new CircuitBreaker(fn, { timeout: 1000, resetTimeout: 5000 });
const opossumNoTimeout = new CircuitBreaker(fn, { timeout: false, resetTimeout: 5000 });

// The same work for every contender: the callee ignores its signal (rows *_ns), or reads it (rows
// *_signal_ns) as any cancellable I/O does — which is when a timeout has to make one.
const fnSignal = (signal: AbortSignal): Promise<number> => Promise.resolve(signal.aborted ? 0 : 1);

const fast = await measureInterleaved({
  bare_ns: fn,
  breakwater_retry_ns: () => bwRetry.execute(fn),
  breakwater_breaker_ns: () => bwBreaker.execute(fn),
  breakwater_ns: () => bwTrio.execute(fn),
  breakwater_full_ns: () => bwFull.execute(fn),
});
const withSignal = await measureInterleaved(
  {
    abort_controller_ns: async () => new AbortController().signal,
    breakwater_signal_ns: () => bwTrio.execute((ctx) => fnSignal(ctx.signal)),
    cockatiel_signal_ns: () => cbTrio.execute(({ signal }) => fnSignal(signal)),
  },
  50_000,
);
const peers = await measureInterleaved(
  {
    cockatiel_retry_ns: () => cbRetryOnly.execute(fn),
    cockatiel_breaker_ns: () => cbBreakerOnly.execute(fn),
    cockatiel_ns: () => cbTrio.execute(fn),
    opossum_ns: () => opossumWithTimeout.fire(),
    opossum_no_timeout_ns: () => opossumNoTimeout.fire(),
    p_retry_ns: () => pRetry(fn, { retries: 2 }),
  },
  50_000,
);
const results = { ...fast, ...withSignal, ...peers } as Record<string, number>;
opossumWithTimeout.shutdown();
opossumNoTimeout.shutdown();

const over = (ns: number) => round(ns - results.bare_ns!);
table([
  { what: 'bare await', ns_per_call: round(results.bare_ns!), added_ns: 0 },
  {
    what: 'breakwater retry',
    ns_per_call: round(results.breakwater_retry_ns!),
    added_ns: over(results.breakwater_retry_ns!),
  },
  {
    what: 'breakwater breaker',
    ns_per_call: round(results.breakwater_breaker_ns!),
    added_ns: over(results.breakwater_breaker_ns!),
  },
  {
    what: 'breakwater retry+breaker+timeout',
    ns_per_call: round(results.breakwater_ns!),
    added_ns: over(results.breakwater_ns!),
  },
  {
    what: 'new AbortController().signal (the floor when the callee reads a signal)',
    ns_per_call: round(results.abort_controller_ns!),
    added_ns: over(results.abort_controller_ns!),
  },
  {
    what: 'breakwater retry+breaker+timeout, callee reads ctx.signal',
    ns_per_call: round(results.breakwater_signal_ns!),
    added_ns: over(results.breakwater_signal_ns!),
  },
  {
    what: 'cockatiel retry+breaker+timeout, callee reads signal',
    ns_per_call: round(results.cockatiel_signal_ns!),
    added_ns: over(results.cockatiel_signal_ns!),
  },
  {
    what: 'breakwater full (bulkhead, limiter, retry+budget, breaker, timeout)',
    ns_per_call: round(results.breakwater_full_ns!),
    added_ns: over(results.breakwater_full_ns!),
  },
  {
    what: 'cockatiel retry',
    ns_per_call: round(results.cockatiel_retry_ns!),
    added_ns: over(results.cockatiel_retry_ns!),
  },
  {
    what: 'cockatiel breaker',
    ns_per_call: round(results.cockatiel_breaker_ns!),
    added_ns: over(results.cockatiel_breaker_ns!),
  },
  {
    what: 'cockatiel retry+breaker+timeout',
    ns_per_call: round(results.cockatiel_ns!),
    added_ns: over(results.cockatiel_ns!),
  },
  { what: 'opossum breaker+timeout', ns_per_call: round(results.opossum_ns!), added_ns: over(results.opossum_ns!) },
  {
    what: 'opossum breaker (no timeout)',
    ns_per_call: round(results.opossum_no_timeout_ns!),
    added_ns: over(results.opossum_no_timeout_ns!),
  },
  { what: 'p-retry', ns_per_call: round(results.p_retry_ns!), added_ns: over(results.p_retry_ns!) },
]);
const summary = {
  ...Object.fromEntries(Object.entries(results).map(([k, v]) => [k, round(v)])),
  ratio_vs_cockatiel: round(results.cockatiel_ns! / results.breakwater_ns!),
  ratio_vs_cockatiel_signal: round(results.cockatiel_signal_ns! / results.breakwater_signal_ns!),
  signal_above_floor_ns: round(results.breakwater_signal_ns! - results.abort_controller_ns!),
  ratio_vs_opossum: round(results.opossum_ns! / results.breakwater_ns!),
  ratio_vs_p_retry: round(results.p_retry_ns! / results.breakwater_retry_ns!),
  node: process.version,
  cockatiel: cockatielVersion(),
};
console.log(
  `breakwater retry+breaker+timeout: ${round(results.breakwater_ns!)} ns/call (${summary.ratio_vs_cockatiel}x cockatiel ${cockatielVersion()}); callee reading the signal: ${round(results.breakwater_signal_ns!)} ns (${summary.ratio_vs_cockatiel_signal}x cockatiel, ${summary.signal_above_floor_ns} ns above new AbortController())`,
);
console.log(JSON.stringify(summary));

function cockatielVersion(): string {
  return createRequire(import.meta.url)('cockatiel/package.json').version as string;
}
