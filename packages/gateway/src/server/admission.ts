import { bulkhead, pipeline, type BulkheadPolicy, type Pipeline } from 'breakwater';
import type { ProviderConfig, ServerConfig } from '../config/schema.js';

/**
 * Admission control, made of the library's bulkheads: the gateway as a whole handles at most
 * `maxInFlight` requests with a short queue, and each upstream (`provider:model`) gets at most its
 * provider's `concurrency.max` calls. Past either bound a request waits at most its queue timeout,
 * then gets 503 + Retry-After (the gateway) or moves on to the route's next target (an upstream).
 */
export interface Admission {
  /** Runs a whole request (a stream until its end) inside the gateway's bound. */
  readonly gateway: Pipeline;
  readonly gatewayBulkhead: BulkheadPolicy;
  /** The bulkhead of one upstream; the same instance for every route, and across config reloads. */
  upstream(key: string, provider: ProviderConfig): BulkheadPolicy;
  /** Saturation, for readiness and metrics. */
  stats(): { running: number; queued: number; maxInFlight: number };
}

export function createAdmission(server: ServerConfig): Admission {
  const gatewayBulkhead = bulkhead({
    maxConcurrent: server.maxInFlight,
    maxQueue: server.maxQueue,
    queueTimeoutMs: server.queueTimeoutMs,
    retryAfterMs: 1_000,
  });
  const upstreams = new Map<string, { settings: string; policy: BulkheadPolicy }>();
  return {
    gateway: pipeline(gatewayBulkhead),
    gatewayBulkhead,
    upstream(key, provider) {
      const settings = JSON.stringify(provider.concurrency);
      const existing = upstreams.get(key);
      // A reload that keeps the settings keeps the bulkhead (and the calls it is counting).
      if (existing?.settings === settings) return existing.policy;
      const policy = bulkhead({
        maxConcurrent: provider.concurrency.max,
        maxQueue: provider.concurrency.queue,
        queueTimeoutMs: provider.concurrency.queueTimeoutMs,
      });
      upstreams.set(key, { settings, policy });
      return policy;
    },
    stats: () => ({
      running: gatewayBulkhead.running,
      queued: gatewayBulkhead.queued,
      maxInFlight: gatewayBulkhead.maxConcurrent,
    }),
  };
}
