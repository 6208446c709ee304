import {
  alternatives,
  Errors,
  pipeline,
  retry,
  timeout,
  type BreakwaterError,
  type Branch,
  type CallTrail,
  type Pipeline,
  type RateLimiterPolicy,
  type RetryBudget,
} from 'breakwater';
import type { RouteConfig } from '../config/schema.js';
import type { OpenedStream, ResolvedTarget } from '../upstream/call-target.js';
import type { Upstreams } from './upstreams.js';

/** A model alias and the library pipeline that serves it. */
export interface Route {
  alias: string;
  config: RouteConfig;
  /** In order; `ctx.key` in the callee is one of their keys. */
  targets: ResolvedTarget[];
  byKey: ReadonlyMap<string, ResolvedTarget>;
  /**
   * `pipeline(timeout(total), alternatives(targets → pipeline(retry, bulkhead, breaker, timeout(attempt)))))`:
   * the route's whole budget over every target, each target with its own retries, its upstream's
   * concurrency limit and breaker (shared with every route that uses the upstream), and a deadline
   * per attempt.
   */
  pipeline: Pipeline;
  /** The same for streams, whose attempt lasts until the first content token (`firstTokenTimeoutMs`). */
  streamPipeline: Pipeline;
  /**
   * By the key of a target whose stream was cut: `alternatives` over the later targets that declare
   * `capabilities.prefill`, each under its own stream pipeline, moving on after any failure. Absent
   * when no later target can continue a stream.
   */
  resumeAfter: ReadonlyMap<string, Pipeline>;
  /**
   * The same route over only the targets that can serve requests with tools and/or images, keyed
   * by what a request needs (see capabilities.ts); filled in by the routes' builder.
   */
  variants: Map<string, Route | undefined>;
  /** The route's `rateLimit` (all clients together; shared across replicas with a store). */
  limiter?: RateLimiterPolicy;
}

/** Builds a route as one sentence of library policies. */
export function buildRoute(
  alias: string,
  config: RouteConfig,
  targets: ResolvedTarget[],
  upstreams: Upstreams,
  budget: RetryBudget,
): Route {
  const byKey = new Map(targets.map((target) => [target.key, target]));
  const branches = (attemptMs: number): Array<Branch & { policy: Pipeline }> =>
    targets.map((target) => {
      const upstream = upstreams.get(target.key);
      const settings = { ...config.retry, ...target.retry };
      return {
        key: target.key,
        policy: pipeline(
          retry({
            maxAttempts: settings.maxAttempts,
            budget,
            retryOn: retriedOnSameTarget(settings.moveOnImmediately),
          }),
          // Outside the breaker: our own concurrency limit is not the upstream's failure.
          upstream.bulkhead,
          upstream.breaker,
          timeout(attemptMs),
        ),
        accepts: (error, previous) => fitsAfter(error, byKey.get(previous.key)!, target),
        // A drained upstream gets no new requests from any route; calls already on it finish.
        enabled: () => upstreams.drained(target.key) === undefined,
      };
    });
  const hedging = config.hedgeAfterMs === undefined ? {} : { hedgeAfterMs: config.hedgeAfterMs };
  const streamBranches = branches(config.stream.firstTokenTimeoutMs ?? config.attemptTimeoutMs);
  return {
    alias,
    config,
    targets,
    byKey,
    pipeline: pipeline(timeout(config.totalTimeoutMs), alternatives(branches(config.attemptTimeoutMs), hedging)),
    streamPipeline: pipeline(
      timeout(config.totalTimeoutMs),
      // A losing stream that opened anyway is closed, not left reading.
      alternatives(streamBranches, { ...hedging, dispose: (opened) => (opened as OpenedStream).abort() }),
    ),
    resumeAfter: resumePipelines(targets, streamBranches),
    variants: new Map(),
  };
}

/**
 * For each target, the walk that continues its cut stream: the later prefill-capable targets in
 * route order. Any failure moves on — the client hears about the original cut, not about these.
 */
function resumePipelines(targets: ResolvedTarget[], streamBranches: Branch[]): Map<string, Pipeline> {
  const resumers = new Map<string, Pipeline>();
  targets.forEach((target, index) => {
    const later = streamBranches
      .slice(index + 1)
      .filter((_, offset) => targets[index + 1 + offset]!.capabilities.prefill)
      .map(({ key, policy, enabled }) => ({ key, ...(policy ? { policy } : {}), ...(enabled ? { enabled } : {}) }));
    if (later.length > 0) resumers.set(target.key, pipeline(alternatives(later, { moveOn: () => true })));
  });
  return resumers;
}

/**
 * What is retried on the same target: retryable failures, except a full upstream (our own limit)
 * and the categories the route moves on from at once (by default a timeout: a target that did not
 * answer is not waited on twice). A rate limit is retried only when its Retry-After fits the
 * budget — the retry policy gives up otherwise, and the route moves on.
 */
function retriedOnSameTarget(moveOnImmediately: readonly string[]): (error: BreakwaterError) => boolean {
  const moveOn = new Set(moveOnImmediately);
  return (error) => error.retryable && error.code !== Errors.bulkheadFull.code && !moveOn.has(error.category);
}

/**
 * After a context_length failure, only a target whose window fits is worth asking: one at least as
 * large as the tokens the provider said were requested, when it said so; else one larger than the
 * target that refused.
 */
function fitsAfter(error: BreakwaterError, from: ResolvedTarget, to: ResolvedTarget): boolean {
  if (error.category !== 'context_length') return true;
  const requested = error.details?.['requestedTokens'];
  if (typeof requested === 'number' && to.contextWindow !== undefined) return to.contextWindow >= requested;
  return (to.contextWindow ?? 0) > (from.contextWindow ?? Infinity);
}

/**
 * Response headers from the call's trail: which target answered (or failed last), attempts,
 * fallbacks, and the gateway's own overhead when given (`overheadMs`, as the peers publish it).
 */
export function trailHeaders(trail: CallTrail, overhead?: number): Record<string, string> {
  // Field by field: a literal of conditional spreads costs several times more, on every response.
  const headers: Record<string, string> = {};
  const target = trail.lastTried;
  if (target) headers['x-breakwater-target'] = target;
  headers['x-breakwater-attempts'] = String(trail.attempts);
  const fellBackFrom = trail.fellBackFrom;
  if (fellBackFrom.length > 0) headers['x-breakwater-fallback-from'] = fellBackFrom.join(', ');
  if (overhead !== undefined) headers['x-breakwater-overhead-ms'] = overhead.toFixed(2);
  return headers;
}

/**
 * The request's time not spent waiting for an upstream: the time since it arrived minus the time
 * covered by at least one attempt (hedged attempts overlap: that time counts once).
 */
export function overheadMs(trail: CallTrail, elapsedMs: number): number {
  const attempts = trail.log.length > 1 ? [...trail.log].sort((a, b) => a.startedAt - b.startedAt) : trail.log;
  let upstream = 0;
  let coveredUntil = -Infinity;
  for (const { startedAt, durationMs } of attempts) {
    const end = startedAt + durationMs;
    if (end > coveredUntil) upstream += end - Math.max(startedAt, coveredUntil);
    coveredUntil = Math.max(coveredUntil, end);
  }
  return Math.max(0, elapsedMs - upstream);
}

/** What the journal keeps of a call's trail. */
export function trailSummary(trail: CallTrail): Record<string, unknown> {
  const summary: Record<string, unknown> = {
    target: trail.lastTried ?? null,
    attempts: trail.attempts,
    fellBackFrom: trail.fellBackFrom,
    branches: trail.branches,
    // Every attempt in order: what an operator opens after an incident (`breakwater ops show`).
    timeline: trail.log,
  };
  if (trail.droppedAttempts > 0) summary['timelineDropped'] = trail.droppedAttempts;
  return summary;
}
