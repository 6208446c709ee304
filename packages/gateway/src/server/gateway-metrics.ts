import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type RejectionReason = 'admission' | 'all_targets_open' | 'all_targets_full' | 'auth_throttled' | 'draining';

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
}

export function gatewayMetrics(
  registry: Registry,
  inFlight: () => { running: number; queued: number },
): GatewayMetrics {
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
  const tokens = new Counter({
    name: 'breakwater_gateway_tokens_total',
    help: 'Tokens of the attempts that answered, by route, target and kind (prompt, completion).',
    labelNames: ['route', 'target', 'kind'],
    registers: [registry],
  });
  const cost = new Counter({
    name: 'breakwater_gateway_cost_total',
    help: 'Cost of the attempts that answered (with a price table), by route and target.',
    labelNames: ['route', 'target'],
    registers: [registry],
  });
  const overhead = new Histogram({
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
      const { running, queued } = inFlight();
      this.set({ state: 'running' }, running);
      this.set({ state: 'queued' }, queued);
    },
  });
  return {
    rejected: (reason) => rejections.inc({ reason }),
    authFailed: (access) => authFailures.inc({ access }),
    malformedEvent: (target) => malformed.inc({ target }),
    overhead: (ms) => overhead.observe(ms / 1000),
    usage: (route, target, usage, price) => {
      if (usage.prompt_tokens) tokens.inc({ route, target, kind: 'prompt' }, usage.prompt_tokens);
      if (usage.completion_tokens) tokens.inc({ route, target, kind: 'completion' }, usage.completion_tokens);
      if (price) cost.inc({ route, target }, price);
    },
  };
}
