import type { BreakwaterError } from '../errors/breakwater-error.js';
import type { Category } from '../errors/categories.js';
import type { CallContext } from './context.js';
import { Emitter } from './events.js';
import { classifyFor } from './classify-for.js';
import type { Next, Policy } from './policy.js';

export interface FallbackRule<T = unknown> {
  /** Categories this rule answers, or a predicate on the classified error. */
  when: readonly Category[] | ((error: BreakwaterError) => boolean);
  /** Produces the degraded result (a cache, a replica, a larger or smaller model…). */
  use: (error: BreakwaterError, ctx: CallContext) => PromiseLike<T> | T;
  /** Why the result is degraded, for the response header and metrics. Default: the error code. */
  reason?: string;
}

export interface FallbackEvents extends Record<string, unknown> {
  fallback: { key: string; correlationId?: string; reason: string; error: BreakwaterError };
}

/**
 * Chains of fallbacks chosen by category: `context_length → larger model`, `overloaded → another
 * provider`. When a fallback fails too, the rules after it are tried against the new error. A result
 * from a fallback marks the context degraded (`ctx.degraded`), so the HTTP layer can say so.
 */
export class FallbackPolicy implements Policy {
  readonly classifies = true;
  readonly events = new Emitter<FallbackEvents>('fallback');

  constructor(private readonly rules: readonly FallbackRule[]) {
    if (rules.length === 0) throw new TypeError('Expected at least one fallback rule.');
  }

  async run<T>(ctx: CallContext, next: Next<T>): Promise<T> {
    try {
      return await next(ctx);
    } catch (thrown) {
      let error = classifyFor(thrown, ctx);
      for (let i = 0; i < this.rules.length; i++) {
        const rule = this.rules[i]!;
        if (!matches(rule, error) || ctx.cancelledByCaller) continue;
        const reason = rule.reason ?? error.code;
        if (this.events.hasListeners('fallback'))
          this.events.emit('fallback', { key: ctx.key, correlationId: ctx.correlationId, reason, error });
        try {
          const value = (await rule.use(error, ctx)) as T;
          ctx.degraded = { reason, code: error.code, category: error.category };
          return value;
        } catch (fallbackThrown) {
          error = classifyFor(fallbackThrown, ctx);
        }
      }
      throw error;
    }
  }
}

function matches(rule: FallbackRule, error: BreakwaterError): boolean {
  return typeof rule.when === 'function' ? rule.when(error) : rule.when.includes(error.category);
}

export function fallback(...rules: FallbackRule[]): FallbackPolicy {
  return new FallbackPolicy(rules);
}
