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
import { measureInOwnProcesses, measureInterleaved, round, table } from './harness.js';

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

// First, and each in a process of its own (see measureInOwnProcesses): the rows whose callee reads
// a signal. A child process measuring one of them exits inside this call.
const withSignal = await measureInOwnProcesses(
  {
    // The floor: the same callee, handed a fresh signal with no policy around it.
    abort_controller_ns: () => fnSignal(new AbortController().signal),
    breakwater_signal_ns: () => bwTrio.execute((ctx) => fnSignal(ctx.signal)),
    cockatiel_signal_ns: () => cbTrio.execute(({ signal }) => fnSignal(signal)),
  },
  200_000,
);
const fast = await measureInterleaved({
  bare_ns: fn,
  breakwater_retry_ns: () => bwRetry.execute(fn),
  breakwater_breaker_ns: () => bwBreaker.execute(fn),
  breakwater_ns: () => bwTrio.execute(fn),
  breakwater_full_ns: () => bwFull.execute(fn),
});
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

/** Each row of the table: what was measured, and the key of its figure. */
const LABELS: Array<[string, string]> = [
  ['bare await', 'bare_ns'],
  ['breakwater retry', 'breakwater_retry_ns'],
  ['breakwater breaker', 'breakwater_breaker_ns'],
  ['breakwater retry+breaker+timeout', 'breakwater_ns'],
  ['the callee handed new AbortController().signal (the floor when it reads a signal)', 'abort_controller_ns'],
  ['breakwater retry+breaker+timeout, callee reads ctx.signal', 'breakwater_signal_ns'],
  ['cockatiel retry+breaker+timeout, callee reads signal', 'cockatiel_signal_ns'],
  ['breakwater full (bulkhead, limiter, retry+budget, breaker, timeout)', 'breakwater_full_ns'],
  ['cockatiel retry', 'cockatiel_retry_ns'],
  ['cockatiel breaker', 'cockatiel_breaker_ns'],
  ['cockatiel retry+breaker+timeout', 'cockatiel_ns'],
  ['opossum breaker+timeout', 'opossum_ns'],
  ['opossum breaker (no timeout)', 'opossum_no_timeout_ns'],
  ['p-retry', 'p_retry_ns'],
];
table(
  LABELS.map(([what, key]) => ({
    what,
    ns_per_call: round(results[key]!),
    added_ns: round(results[key]! - results.bare_ns!),
  })),
);
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
  `breakwater retry+breaker+timeout: ${round(results.breakwater_ns!)} ns/call (${summary.ratio_vs_cockatiel}x cockatiel ${cockatielVersion()}); callee reading the signal: ${round(results.breakwater_signal_ns!)} ns (${summary.ratio_vs_cockatiel_signal}x cockatiel, ${summary.signal_above_floor_ns} ns above the callee handed a new AbortController's signal)`,
);
console.log(JSON.stringify(summary));

function cockatielVersion(): string {
  return createRequire(import.meta.url)('cockatiel/package.json').version as string;
}
