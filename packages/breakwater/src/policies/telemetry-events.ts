import type { AlternativesEvents } from './alternatives.js';
import type { BreakerEvents } from './breaker/circuit-breaker.js';
import type { BulkheadEvents } from './bulkhead.js';
import type { FallbackEvents } from './fallback.js';
import type { HedgeEvents } from './hedge.js';
import type { PipelineEvents } from './pipeline.js';
import type { RateLimiterEvents } from './rate-limiter.js';
import type { RetryEvents } from './retry/retry-policy.js';
import type { TimeoutEvents } from './timeout.js';

/** `${emitter source}.${event name}` for each named event (the index signature left out). */
type Prefixed<Source extends string, Events> = {
  [K in keyof Events as K extends string ? (string extends K ? never : `${Source}.${K}`) : never]: Events[K];
};

/**
 * Every telemetry event by name. A policy's events appear here by its emitter's `source`; sinks
 * and the observe layer read only this type (a new policy adds a line here, nothing in observe/).
 * Other modules add theirs by declaration merging (the agent's `tool.toolError`).
 */
export interface TelemetryEvents
  extends
    Prefixed<'pipeline', PipelineEvents>,
    Prefixed<'retry', RetryEvents>,
    Prefixed<'breaker', BreakerEvents>,
    Prefixed<'timeout', TimeoutEvents>,
    Prefixed<'fallback', FallbackEvents>,
    Prefixed<'alternatives', AlternativesEvents>,
    Prefixed<'hedge', HedgeEvents>,
    Prefixed<'bulkhead', BulkheadEvents>,
    Prefixed<'rateLimiter', RateLimiterEvents> {}
