import { Counter, Gauge, type Registry } from 'prom-client';
import type { JournalHealth } from 'breakwater';
import { PreboundCounter, PreboundHistogram, type CounterSeries, type HistogramSeries } from 'breakwater/prometheus';
import type { RequestOutcome } from './request-outcome.js';

export type RejectionReason =
  | 'admission'
  | 'all_targets_open'
  | 'all_targets_full'
  | 'all_targets_drained'
  | 'maintenance'
  | 'auth_throttled'
  | 'rate_limited'
  | 'draining';

/** What the gateway's gauges read at each scrape. */
export interface GaugeSources {
  inFlight: () => { running: number; queued: number };
  /** Retries the shared retry budget allows right now. */
  retryBudget: () => number;
  journal: () => JournalHealth;
  /** The shared state store: undefined when state is per process. */
  sharedState: () => { status: 'pass' | 'warn'; fallbacks: number } | undefined;
}

/** The gateway's own series, beside the library's policy metrics in the same registry. */
export interface GatewayMetrics {
  /** A request refused before any upstream call (and without a durable journal write). */
  rejected(reason: RejectionReason): void;
  authFailed(access: string): void;
  /** A stream event whose data was not JSON: skipped, never forwarded. */
  malformedEvent(target: string): void;
  /** The gateway's own time in a request: everything but waiting for upstreams (ms). */
  overhead(ms: number): void;
  /** Tokens (and cost, with a price) of the attempt that answered. */
  usage(
    route: string,
    target: string,
    usage: { prompt_tokens?: number; completion_tokens?: number },
    cost?: number,
  ): void;
  /** How a request ended: requests by route, target and outcome; time to first token. */
  request(outcome: RequestOutcome): void;
}

export function gatewayMetrics(registry: Registry, sources: GaugeSources): GatewayMetrics {
  const rejections = new Counter({
    name: 'breakwater_gateway_rejections_total',
    help: 'Requests refused before any upstream call, by reason (no journal row is written for them).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'breakwater_gateway_auth_failures_total',
    help: 'Requests with a missing or wrong key, by the access the route needs (client, admin).',
    labelNames: ['access'],
    registers: [registry],
  });
  // The series every request updates are prebound (breakwater/prometheus: an update is an addition).
  const tokens = new PreboundCounter({
    name: 'breakwater_gateway_tokens_total',
    help: 'Tokens of the attempts that answered, by route, target and kind (prompt, completion).',
    labelNames: ['route', 'target', 'kind'],
    registers: [registry],
  });
  const cost = new PreboundCounter({
    name: 'breakwater_gateway_cost_total',
    help: 'Cost of the attempts that answered (with a price table), by route and target.',
    labelNames: ['route', 'target'],
    registers: [registry],
  });
  const overhead = new PreboundHistogram({
    name: 'breakwater_gateway_overhead_seconds',
    help: "The gateway's own time per request: the time to the response (or the first streamed byte) minus the time spent waiting for upstreams.",
    buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [registry],
  });
  const malformed = new Counter({
    name: 'breakwater_gateway_stream_malformed_events_total',
    help: 'Stream events from an upstream whose data was not JSON (skipped, never forwarded), by target.',
    labelNames: ['target'],
    registers: [registry],
  });
  new Gauge({
    name: 'breakwater_gateway_requests_in_flight',
    help: 'Requests being handled (state="running") and waiting for admission (state="queued").',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const { running, queued } = sources.inFlight();
      this.set({ state: 'running' }, running);
      this.set({ state: 'queued' }, queued);
    },
  });
  const requests = new PreboundCounter({
    name: 'breakwater_gateway_requests_total',
    help: 'Requests by route, the target that answered (or failed last; "none" when none was tried), outcome (success, failure, cancelled) and error category.',
    labelNames: ['route', 'target', 'outcome', 'category'],
    registers: [registry],
  });
  const firstToken = new PreboundHistogram({
    name: 'breakwater_gateway_time_to_first_token_seconds',
    help: 'Streams: time from the request to the first byte sent to the client (retries and fallbacks included), by route and target.',
    labelNames: ['route', 'target'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32],
    registers: [registry],
  });
  new Gauge({
    name: 'breakwater_gateway_retry_budget_available',
    help: 'Retries the shared retry budget allows right now (0: every retry is refused until it refills).',
    registers: [registry],
    collect() {
      this.set(sources.retryBudget());
    },
  });
  new Gauge({
    name: 'breakwater_gateway_journal_up',
    help: "1 while the journal store's latest answer was a success, 0 while it fails (requests are then served per journal.onUnavailable).",
    registers: [registry],
    collect() {
      this.set(sources.journal().status === 'fail' ? 0 : 1);
    },
  });
  new Gauge({
    name: 'breakwater_gateway_journal_outbox',
    help: 'Outcomes waiting for the journal store (state="deferred") and dropped because the outbox was full (state="dropped").',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const { deferred, dropped } = sources.journal();
      this.set({ state: 'deferred' }, deferred);
      this.set({ state: 'dropped' }, dropped);
    },
  });
  new Gauge({
    name: 'breakwater_gateway_shared_state_up',
    help: '1 while the shared state store (state.redis, or the primary with server.workers) answers decisions, 0 while this process decides alone (absent without a shared store).',
    registers: [registry],
    collect() {
      const state = sources.sharedState();
      if (state) this.set(state.status === 'pass' ? 1 : 0);
    },
  });
  new Counter({
    name: 'breakwater_gateway_shared_state_fallbacks_total',
    help: 'Decisions (a token, a retry, a probe claim) this process took from its own state because the shared store was slow or out of reach.',
    registers: [registry],
    collect() {
      const state = sources.sharedState();
      if (state) {
        this.reset();
        this.inc(state.fallbacks);
      }
    },
  });
  // Each request's series found by one string key (routes and targets come from the configuration:
  // these maps are as small as it is).
  const requestSeries = new Map<string, CounterSeries>();
  const firstTokenSeries = new Map<string, HistogramSeries>();
  const usageSeries = new Map<string, Record<'prompt' | 'completion' | 'cost', CounterSeries>>();
  const overheadSeries = overhead.labels();
  return {
    request: (done) => {
      const target = done.target ?? 'none';
      const category = done.error?.category ?? '';
      const key = `${done.route}\u0000${target}\u0000${done.outcome}\u0000${category}`;
      let counter = requestSeries.get(key);
      if (!counter)
        requestSeries.set(
          key,
          (counter = requests.labels({ route: done.route, target, outcome: done.outcome, category })),
        );
      counter.inc();
      if (done.timeToFirstTokenMs === undefined) return;
      const series = `${done.route}\u0000${target}`;
      let histogram = firstTokenSeries.get(series);
      if (!histogram) firstTokenSeries.set(series, (histogram = firstToken.labels({ route: done.route, target })));
      histogram.observe(done.timeToFirstTokenMs / 1000);
    },
    rejected: (reason) => rejections.inc({ reason }),
    authFailed: (access) => authFailures.inc({ access }),
    malformedEvent: (target) => malformed.inc({ target }),
    overhead: (ms) => overheadSeries.observe(ms / 1000),
    usage: (route, target, usage, price) => {
      const key = `${route}\u0000${target}`;
      let series = usageSeries.get(key);
      if (!series)
        usageSeries.set(
          key,
          (series = {
            prompt: tokens.labels({ route, target, kind: 'prompt' }),
            completion: tokens.labels({ route, target, kind: 'completion' }),
            cost: cost.labels({ route, target }),
          }),
        );
      if (usage.prompt_tokens) series.prompt.inc(usage.prompt_tokens);
      if (usage.completion_tokens) series.completion.inc(usage.completion_tokens);
      if (price) series.cost.inc(price);
    },
  };
}
