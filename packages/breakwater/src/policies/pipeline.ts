import type { BreakwaterError } from '../errors/breakwater-error.js';
import { classifyFor } from './classify-for.js';
import { systemClock, type Clock } from './clock.js';
import { invoke } from './invoke.js';
import type { AttemptRecord, CallTrail } from './call-trail.js';
import { CallContext, type CallOptions } from './context.js';
import type { Callee, Next, Policy } from './policy.js';
import type { Degradation } from './context.js';
import { Emitter } from './events.js';
import { fuse, isSettling, type SettlingPolicy } from './settling.js';

export interface PipelineOptions {
  clock?: Clock;
}

export interface PipelineEvents extends Record<string, unknown> {
  /** One finished call (all attempts), for duration histograms and error counters. */
  call: {
    key: string;
    /** The call's correlation id (CallOptions.correlationId), when it has one. */
    correlationId?: string;
    durationMs: number;
    attempts: number;
    error: BreakwaterError | undefined;
    degraded: Degradation | undefined;
  };
}

/**
 * A composed pipeline. It is itself a Policy (`run`), so pipelines nest: `pipeline(timeout(10_000),
 * alternatives([...branches]))` where each branch is its own pipeline.
 */
export interface Pipeline extends Policy {
  readonly events: Emitter<PipelineEvents>;
  /** Runs `fn` under every policy. Rejects only with a classified BreakwaterError. */
  execute<T>(fn: Callee<T>, options?: CallOptions): Promise<T>;
  /** Like execute, and also returns the context: attempts taken, degradation by a fallback. */
  executeWithContext<T>(fn: Callee<T>, options?: CallOptions): Promise<{ value: T; ctx: CallContext }>;
  readonly policies: readonly Policy[];
  readonly clock: Clock;
}

/**
 * Composes policies, outermost first: `pipeline(retry, breaker, timeout)` retries calls that each
 * pass the breaker and get their own timeout. The chain of `next` functions is built once here; a
 * call allocates its context and nothing per layer.
 */
export function pipeline(...args: Array<Policy | PipelineOptions>): Pipeline {
  const policies = args.filter(isPolicy);
  const options = (args.find((a) => !isPolicy(a)) ?? {}) as PipelineOptions;
  const clock = options.clock ?? systemClock;

  const head = compose(policies, (ctx) => {
    ctx.countInvocation();
    const work = invoke(ctx.callee as Callee<unknown>, ctx);
    return ctx.trail ? logAttempt(ctx, ctx.trail, work) : work;
  });
  // Nested in another pipeline, the innermost step is the enclosing pipeline's `next`: a chain per
  // distinct `next`, built on first use (an enclosing chain's `next` is the same function every call).
  const nested = new WeakMap<Next<unknown>, Next<unknown>>();
  // When the outermost policy classifies its rejections itself (retry, breaker, fallback…), the
  // pipeline needs no extra promise to do it.
  const classified = policies[0]?.classifies === true;

  const events = new Emitter<PipelineEvents>('pipeline');
  const run = <T>(fn: Callee<T>, ctx: CallContext): Promise<T> => {
    // A caller that has already given up gets its cancellation at once: no work is started.
    if (ctx.cancelledByCaller) return Promise.reject(classifyFor(ctx.rootSignal!.reason, ctx));
    ctx.callee = fn;
    const result = head(ctx) as Promise<T>;
    const settled = classified
      ? result
      : result.then(undefined, (thrown: unknown) => Promise.reject(classifyFor(thrown, ctx)));
    return events.hasListeners('call') ? timed(settled, ctx) : settled;
  };
  // Only when someone listens: two clock readings and one more promise per call.
  const timed = <T>(work: Promise<T>, ctx: CallContext): Promise<T> => {
    const started = clock.now();
    const report = (error: BreakwaterError | undefined): void =>
      events.emit('call', {
        key: ctx.key,
        correlationId: ctx.correlationId,
        durationMs: clock.now() - started,
        attempts: ctx.invocations,
        error,
        degraded: ctx.degraded,
      });
    return work.then(
      (value) => (report(undefined), value),
      (error: BreakwaterError) => {
        report(error);
        throw error;
      },
    );
  };

  return {
    events,
    policies,
    clock,
    classifies: classified,
    run<T>(ctx: CallContext, next: Next<T>): Promise<T> {
      let chain = nested.get(next as Next<unknown>);
      if (!chain) nested.set(next as Next<unknown>, (chain = compose(policies, next as Next<unknown>)));
      return chain(ctx) as Promise<T>;
    },
    execute: (fn, callOptions) => run(fn, new CallContext(clock, callOptions)),
    executeWithContext: async (fn, callOptions) => {
      const ctx = new CallContext(clock, callOptions);
      return { value: await run(fn, ctx), ctx };
    },
  };
}

/** Records one attempt on the call's trail: when it started, how long it took, how it ended. */
function logAttempt(ctx: CallContext, trail: CallTrail, work: Promise<unknown>): Promise<unknown> {
  const started = performance.now();
  const attempt: AttemptRecord = {
    key: ctx.key,
    attempt: ctx.attempt,
    startedAt: Date.now(),
    durationMs: 0,
    outcome: 'failed',
  };
  // Set, not spread in: a literal with a conditional spread costs several times more, per attempt.
  if (trail.pendingBreakerState) attempt.breaker = trail.pendingBreakerState;
  const record = trail.record(attempt);
  trail.pendingBreakerState = undefined;
  return work.then(
    (value) => {
      record.outcome = 'succeeded';
      record.durationMs = Math.round((performance.now() - started) * 100) / 100;
      return value;
    },
    (thrown: unknown) => {
      const error = classifyFor(thrown, ctx);
      Object.assign(record, {
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        category: error.category,
        code: error.code,
      });
      throw thrown;
    },
  );
}

/**
 * `policies[0]` around `policies[1]` … around `innermost`, built once. Each run of settling policies
 * (retry, breaker, timeout, bulkhead…) becomes one fused step: one promise reaction per call for
 * the run, not one per policy (see settling.ts).
 */
function compose(policies: readonly Policy[], innermost: Next<unknown>): Next<unknown> {
  let chain = innermost;
  for (let end = policies.length; end > 0;) {
    let start = end;
    while (start > 0 && isSettling(policies[start - 1]!)) start--;
    if (start < end) {
      chain = fuse(policies.slice(start, end) as SettlingPolicy[], chain);
    } else {
      const policy = policies[--start]!;
      const inner = chain;
      chain = (ctx) => policy.run(ctx, inner);
    }
    end = start;
  }
  return chain;
}

function isPolicy(value: unknown): value is Policy {
  return typeof (value as Policy | null)?.run === 'function';
}
