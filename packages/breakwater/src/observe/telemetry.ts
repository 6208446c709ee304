import type { BreakwaterError } from '../errors/breakwater-error.js';
import type { Tool } from '../agent/tool.js';
import { BulkheadPolicy, type BulkheadEvents } from '../policies/bulkhead.js';
import { CircuitBreakerPolicy, type BreakerEvents } from '../policies/breaker/circuit-breaker.js';
import { FallbackPolicy, type FallbackEvents } from '../policies/fallback.js';
import { HedgePolicy, type HedgeEvents } from '../policies/hedge.js';
import type { Pipeline, PipelineEvents } from '../policies/pipeline.js';
import type { Policy } from '../policies/policy.js';
import { RateLimiterPolicy, type RateLimiterEvents } from '../policies/rate-limiter.js';
import { RetryPolicy, type RetryEvents } from '../policies/retry/retry-policy.js';
import { TimeoutPolicy, type TimeoutEvents } from '../policies/timeout.js';

/**
 * Where typed events go: a logger, a metrics registry, a tracer. Every method is optional; the
 * adapters (`breakwater/pino`, `breakwater/prometheus`) implement the ones they care about.
 */
export interface TelemetrySink {
  call?(event: PipelineEvents['call']): void;
  retry?(event: RetryEvents['retry']): void;
  giveUp?(event: RetryEvents['giveUp']): void;
  budgetExhausted?(event: RetryEvents['budgetExhausted']): void;
  breakerStateChange?(event: BreakerEvents['stateChange']): void;
  breakerRejected?(event: BreakerEvents['rejected']): void;
  timeout?(event: TimeoutEvents['timeout']): void;
  fallback?(event: FallbackEvents['fallback']): void;
  hedge?(event: HedgeEvents['hedge']): void;
  bulkheadRejected?(event: BulkheadEvents['rejected']): void;
  rateLimited?(event: RateLimiterEvents['rejected']): void;
  toolError?(event: { tool: string; error: BreakwaterError; durationMs: number }): void;
}

type Target = Pipeline | Policy | Tool<unknown>;

/** Connects a pipeline (and its policies), a policy or a tool to sinks. Returns a function that disconnects. */
export function instrument(target: Target, ...sinks: TelemetrySink[]): () => void {
  const off: Array<() => void> = [];
  const each =
    <E>(handler: (sink: TelemetrySink) => ((event: E) => void) | undefined) =>
    (event: E) => {
      for (const sink of sinks) handler(sink)?.call(sink, event);
    };
  const attach = (policy: Policy): void => {
    if (policy instanceof RetryPolicy) {
      off.push(
        policy.events.on(
          'retry',
          each((s) => s.retry),
        ),
      );
      off.push(
        policy.events.on(
          'giveUp',
          each((s) => s.giveUp),
        ),
      );
      off.push(
        policy.events.on(
          'budgetExhausted',
          each((s) => s.budgetExhausted),
        ),
      );
    } else if (policy instanceof CircuitBreakerPolicy) {
      off.push(
        policy.events.on(
          'stateChange',
          each((s) => s.breakerStateChange),
        ),
      );
      off.push(
        policy.events.on(
          'rejected',
          each((s) => s.breakerRejected),
        ),
      );
    } else if (policy instanceof TimeoutPolicy)
      off.push(
        policy.events.on(
          'timeout',
          each((s) => s.timeout),
        ),
      );
    else if (policy instanceof FallbackPolicy)
      off.push(
        policy.events.on(
          'fallback',
          each((s) => s.fallback),
        ),
      );
    else if (policy instanceof HedgePolicy)
      off.push(
        policy.events.on(
          'hedge',
          each((s) => s.hedge),
        ),
      );
    else if (policy instanceof BulkheadPolicy)
      off.push(
        policy.events.on(
          'rejected',
          each((s) => s.bulkheadRejected),
        ),
      );
    else if (policy instanceof RateLimiterPolicy)
      off.push(
        policy.events.on(
          'rejected',
          each((s) => s.rateLimited),
        ),
      );
  };
  if ('policies' in target && 'execute' in target) {
    off.push(
      target.events.on(
        'call',
        each((s) => s.call),
      ),
    );
    target.policies.forEach(attach);
  } else if ('run' in target && 'events' in target && 'name' in target) {
    off.push(
      (target as Tool<unknown>).events.on(
        'toolError',
        each((s) => s.toolError),
      ),
    );
  } else {
    attach(target as Policy);
  }
  return () => off.forEach((unsubscribe) => unsubscribe());
}
