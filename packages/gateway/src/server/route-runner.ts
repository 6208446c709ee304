import {
  type BreakwaterError,
  type BulkheadPolicy,
  type Category,
  type CircuitBreakerPolicy,
  type Pipeline,
} from 'breakwater';
import type { RouteConfig } from '../config/schema.js';
import type { ResolvedTarget } from '../upstream/call-target.js';

export interface Route {
  alias: string;
  config: RouteConfig;
  targets: ResolvedTarget[];
  /** One pipeline per target: retry (shared budget) → breaker (shared, per target key) → attempt timeout. */
  pipelines: Pipeline[];
  breaker: CircuitBreakerPolicy;
  /** Each target's upstream bulkhead (shared with every route that uses the same upstream). */
  bulkheads: BulkheadPolicy[];
}

/** What happened so far: read it after success or failure (for headers and the journal). */
export interface RouteProgress {
  /** Attempts across every target tried. */
  attempts: number;
  /** The target that answered, or the last one tried. */
  target: ResolvedTarget | undefined;
  /** Targets that failed before the one that answered. */
  fellBackFrom: string[];
}

export function newProgress(): RouteProgress {
  return { attempts: 0, target: undefined, fellBackFrom: [] };
}

// The caller's own mistakes are not fixed by asking another provider.
const NEVER_FALL_BACK: ReadonlySet<Category> = new Set(['validation', 'content_filtered', 'cancelled', 'conflict']);

/**
 * Tries the route's targets in order. Each target runs under its own pipeline (so retries happen
 * before moving on); a failure moves to the next target by category: context_length only to a
 * target with a larger context window; dependency faults, rate limits, quota and our own rejected
 * credentials to the next one; the caller's own errors never.
 */
export async function runRoute<T>(
  route: Route,
  call: (target: ResolvedTarget, signal: AbortSignal) => Promise<T>,
  signal: AbortSignal,
  progress: RouteProgress,
  correlationId?: string,
): Promise<T> {
  let lastError: BreakwaterError | undefined;
  for (let i = 0; i < route.targets.length; i++) {
    const target = route.targets[i]!;
    if (progress.target && lastError && !fallsBackTo(lastError, progress.target, target)) continue;
    progress.target = target;
    try {
      return await route.pipelines[i]!.execute(
        (ctx) => {
          progress.attempts++;
          return call(target, ctx.signal);
        },
        { key: target.key, signal, ...(correlationId ? { correlationId } : {}) },
      );
    } catch (error) {
      lastError = error as BreakwaterError;
      if (NEVER_FALL_BACK.has(lastError.category) || signal.aborted) break;
      progress.fellBackFrom.push(target.key);
    }
  }
  throw lastError!;
}

function fallsBackTo(error: BreakwaterError, from: ResolvedTarget, to: ResolvedTarget): boolean {
  if (error.category !== 'context_length') return true;
  return (to.contextWindow ?? 0) > (from.contextWindow ?? Infinity);
}
