// breakwater/prometheus: metrics from breakwater's events (peer: prom-client).
import { Counter, Gauge, Registry } from 'prom-client';
import { redact } from '../../redact/redactor.js';
import type { TelemetrySink } from '../telemetry.js';
import { PreboundCounter, PreboundHistogram, type CounterSeries, type HistogramSeries } from './prebound.js';

export { PreboundCounter, PreboundHistogram, CounterSeries, HistogramSeries, type PreboundConfig } from './prebound.js';

export interface PrometheusOptions {
  registry?: Registry;
  /** Metric name prefix. Default `breakwater_`. */
  prefix?: string;
  /** Call duration buckets (seconds). */
  buckets?: number[];
  /**
   * Every breaker to export, read at each scrape (e.g. `() => upstreams.snapshots()`): closed ones
   * are exported as 0, so a dashboard shows every dependency, not only those that ever changed.
   */
  breakers?: () => Iterable<{ key: string; state: keyof typeof BREAKER_STATE }>;
}

const BREAKER_STATE = { closed: 0, half_open: 1, open: 2, isolated: 3 } as const;

type CallOutcome = 'success' | 'failure' | 'degraded';
interface CallSeries {
  calls: CounterSeries;
  attempts: CounterSeries;
  duration: HistogramSeries;
}
// Label values are user-controlled (keys, dependency names): redacted and bounded in length.
// Remembered per value — a handful of keys recur on every call, and the redactor's scan of each
// was a visible share of a gateway request — in a map cleared when it grows past its bound.
const labels = new Map<string, string>();
const MAX_REMEMBERED_LABELS = 1_000;
const label = (value: string | undefined): string => {
  const raw = value ?? '';
  let clean = labels.get(raw);
  if (clean === undefined) {
    if (labels.size >= MAX_REMEMBERED_LABELS) labels.clear();
    labels.set(raw, (clean = redact.string(raw).slice(0, 100)));
  }
  return clean;
};

/**
 * Errors by category/code/dependency, attempts, retries, budget exhaustion, breaker state per key,
 * call durations, fallbacks. `metrics()` is what an HTTP integration's `metrics` option wants.
 */
export function prometheusTelemetry(
  options: PrometheusOptions = {},
): TelemetrySink & { registry: Registry; metrics(): Promise<{ contentType: string; body: string }> } {
  const registry = options.registry ?? new Registry();
  const p = options.prefix ?? 'breakwater_';
  const errors = new Counter({
    name: `${p}errors_total`,
    help: 'Failed calls by error category, code and dependency.',
    labelNames: ['category', 'code', 'dependency'],
    registers: [registry],
  });
  // Updated on every call: prebound (see prebound.ts); the rest count rarer events.
  const calls = new PreboundCounter({
    name: `${p}calls_total`,
    help: 'Finished calls by key and outcome.',
    labelNames: ['key', 'outcome'],
    registers: [registry],
  });
  const attempts = new PreboundCounter({
    name: `${p}attempts_total`,
    help: 'Attempts made (first calls and retries) by key.',
    labelNames: ['key'],
    registers: [registry],
  });
  const retries = new Counter({
    name: `${p}retries_total`,
    help: 'Retries scheduled by key and reason.',
    labelNames: ['key', 'reason'],
    registers: [registry],
  });
  const budget = new Counter({
    name: `${p}retry_budget_exhausted_total`,
    help: 'Retries refused by the retry budget.',
    labelNames: ['key'],
    registers: [registry],
  });
  const listed = options.breakers;
  const breaker = new Gauge({
    name: `${p}breaker_state`,
    help: 'Circuit state per key: 0 closed, 1 half-open, 2 open, 3 isolated.',
    labelNames: ['key'],
    registers: [registry],
    ...(listed
      ? {
          collect(this: Gauge) {
            for (const { key, state } of listed()) this.set({ key: label(key) }, BREAKER_STATE[state]);
          },
        }
      : {}),
  });
  const rejections = new Counter({
    name: `${p}rejections_total`,
    help: 'Calls rejected by a policy (breaker, bulkhead, rate limiter).',
    labelNames: ['key', 'policy'],
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: `${p}fallbacks_total`,
    help: 'Results produced by a fallback (degraded), by key and reason.',
    labelNames: ['key', 'reason'],
    registers: [registry],
  });
  const hedges = new Counter({
    name: `${p}hedges_total`,
    help: 'Second calls started beside a slow first one (hedge, alternatives.hedgeAfterMs), by key.',
    labelNames: ['key'],
    registers: [registry],
  });
  const duration = new PreboundHistogram({
    name: `${p}call_duration_seconds`,
    help: 'Call duration including retries, by key and outcome.',
    labelNames: ['key', 'outcome'],
    buckets: options.buckets ?? [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });

  // The series one call updates, by key and then outcome, resolved together in one lookup with no
  // string made (two calls per gateway request, three updates each).
  const callSeries = new Map<string, Partial<Record<CallOutcome, CallSeries>>>();
  const seriesFor = (key: string, outcome: CallOutcome): CallSeries => {
    let byOutcome = callSeries.get(key);
    if (!byOutcome) {
      if (callSeries.size >= MAX_REMEMBERED_LABELS) callSeries.clear();
      callSeries.set(key, (byOutcome = {}));
    }
    return (byOutcome[outcome] ??= {
      calls: calls.labels({ key, outcome }),
      attempts: attempts.labels({ key }),
      duration: duration.labels({ key, outcome }),
    });
  };

  return {
    registry,
    metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
    'pipeline.call': ({ key, durationMs, attempts: n, error, degraded }) => {
      const outcome = error ? 'failure' : degraded ? 'degraded' : 'success';
      const series = seriesFor(label(key), outcome);
      series.calls.inc();
      series.attempts.inc(n);
      series.duration.observe(durationMs / 1000);
      if (error) errors.inc({ category: error.category, code: error.code, dependency: label(error.dependency ?? key) });
    },
    'retry.retry': ({ key, reason }) => retries.inc({ key: label(key), reason }),
    'retry.budgetExhausted': ({ key }) => budget.inc({ key: label(key) }),
    'breaker.stateChange': ({ key, to }) => breaker.set({ key: label(key) }, BREAKER_STATE[to]),
    'breaker.rejected': ({ key }) => rejections.inc({ key: label(key), policy: 'circuit_breaker' }),
    'bulkhead.rejected': ({ key }) => rejections.inc({ key: label(key), policy: 'bulkhead' }),
    'rateLimiter.rejected': ({ key }) => rejections.inc({ key: label(key), policy: 'rate_limiter' }),
    'fallback.fallback': ({ key, reason }) => fallbacks.inc({ key: label(key), reason: label(reason) }),
    // Ordered alternatives: the branch left behind, and the category that made the call move on.
    'alternatives.fallback': ({ key, reason }) => fallbacks.inc({ key: label(key), reason }),
    'hedge.hedge': ({ key }) => hedges.inc({ key: label(key) }),
    'alternatives.hedge': ({ key }) => hedges.inc({ key: label(key) }),
    'tool.toolError': ({ tool, error }) =>
      errors.inc({ category: error.category, code: error.code, dependency: label(`tool:${tool}`) }),
  };
}
