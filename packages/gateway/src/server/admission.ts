import { bulkhead, pipeline, type BulkheadPolicy, type Pipeline } from 'breakwater';
import type { ServerConfig } from '../config/schema.js';

/**
 * Admission control for the gateway as a whole, made of the library's bulkhead: at most
 * `maxInFlight` requests with a short queue, then 503 + Retry-After. (Each upstream has its own
 * bulkhead, in upstreams.ts.)
 */
export interface Admission {
  /** Runs a whole request (a stream until its end) inside the gateway's bound. */
  readonly gateway: Pipeline;
  /** Saturation, for readiness and metrics. */
  stats(): { running: number; queued: number; maxInFlight: number };
}

export function createAdmission(server: ServerConfig): Admission {
  const gatewayBulkhead: BulkheadPolicy = bulkhead({
    maxConcurrent: server.maxInFlight,
    maxQueue: server.maxQueue,
    queueTimeoutMs: server.queueTimeoutMs,
    retryAfterMs: 1_000,
  });
  return {
    gateway: pipeline(gatewayBulkhead),
    stats: () => ({
      running: gatewayBulkhead.running,
      queued: gatewayBulkhead.queued,
      maxInFlight: gatewayBulkhead.maxConcurrent,
    }),
  };
}
