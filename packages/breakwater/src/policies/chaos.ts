import { BreakwaterError } from '../errors/breakwater-error.js';
import { dependencyCode } from '../errors/codes.js';
import { sleep } from './clock.js';
import type { CallContext } from './context.js';
import type { Next, Policy } from './policy.js';
import type { Random } from './retry/backoff/backoff.js';
import { seededRandom } from './random.js';

export interface ChaosOptions {
  /** Probability (0–1) that a call fails with `fault` instead of running. */
  faultRate?: number;
  /** The injected failure. Default: a retryable upstream 503 (`CHAOS_OVERLOADED`). */
  fault?: (ctx: CallContext) => unknown;
  /** Probability (0–1) of added latency before the call. */
  latencyRate?: number;
  latencyMs?: number;
  /** Seed for reproducible runs (default 1); or pass your own `random`. */
  seed?: number;
  random?: Random;
  /** Turn it off without removing it from the pipeline. */
  enabled?: boolean;
}

/** Fault and latency injection for users' own resilience tests. Seeded: the same run twice. */
export class ChaosPolicy implements Policy {
  private readonly random: Random;

  constructor(private readonly options: ChaosOptions) {
    for (const name of ['faultRate', 'latencyRate'] as const) {
      const rate = options[name] ?? 0;
      if (!(rate >= 0 && rate <= 1)) throw new TypeError(`Expected \`${name}\` between 0 and 1, got ${rate}.`);
    }
    this.random = options.random ?? seededRandom(options.seed ?? 1);
  }

  async run<T>(ctx: CallContext, next: Next<T>): Promise<T> {
    if (this.options.enabled === false) return next(ctx);
    if ((this.options.latencyRate ?? 0) > this.random())
      await sleep(ctx.clock, this.options.latencyMs ?? 0, ctx.abortSource);
    if ((this.options.faultRate ?? 0) > this.random()) throw this.options.fault?.(ctx) ?? defaultFault();
    return next(ctx);
  }
}

function defaultFault(): BreakwaterError {
  return new BreakwaterError({
    code: dependencyCode('CHAOS', 'overloaded'),
    category: 'overloaded',
    origin: 'dependency',
    dependency: 'chaos',
    upstreamStatus: 503,
    message: 'Injected fault (breakwater chaos policy).',
  });
}

export function chaos(options: ChaosOptions): ChaosPolicy {
  return new ChaosPolicy(options);
}
