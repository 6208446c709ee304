import type { BreakwaterError } from '../errors/breakwater-error.js';
import type { CallContext } from './context.js';
import { Emitter } from './events.js';
import { classifyFor } from './classify-for.js';
import type { Next, Policy } from './policy.js';

export interface HedgeOptions {
  /** Start another attempt when the first has not answered after this long (ms). */
  delayMs: number;
  /** Extra attempts at most. Default 1. */
  maxHedges?: number;
}

export interface HedgeEvents extends Record<string, unknown> {
  hedge: { key: string; correlationId?: string; attempt: number; afterMs: number };
}

/**
 * Tail-latency insurance: if the call is slow, start another; the first success wins and the
 * others are aborted through their own signals. Fails only when every attempt failed (with the
 * last error). Use it only for idempotent calls.
 */
export class HedgePolicy implements Policy {
  readonly classifies = true;
  readonly events = new Emitter<HedgeEvents>('hedge');
  private readonly delayMs: number;
  private readonly maxHedges: number;

  constructor(options: HedgeOptions) {
    this.delayMs = options.delayMs;
    this.maxHedges = options.maxHedges ?? 1;
    if (!(this.delayMs >= 0))
      throw new TypeError(`Expected \`delayMs\` to be a non-negative number, got ${options.delayMs}.`);
    if (!Number.isInteger(this.maxHedges) || this.maxHedges < 1)
      throw new TypeError(`Expected \`maxHedges\` to be an integer ≥ 1, got ${options.maxHedges}.`);
  }

  run<T>(ctx: CallContext, next: Next<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const attempts: CallContext[] = [];
      let failures = 0;
      let settled = false;
      let timer: unknown;
      const finish = (): void => {
        settled = true;
        ctx.clock.clearTimer(timer);
      };
      const start = (): void => {
        const scope = ctx.withCancel();
        attempts.push(scope);
        const index = attempts.length;
        scope.track(next(scope)).then(
          (value) => {
            if (settled) return;
            finish();
            for (const other of attempts) if (other !== scope) other.cancel(undefined);
            resolve(value);
          },
          (thrown: unknown) => {
            if (settled) return;
            failures++;
            const error: BreakwaterError = classifyFor(thrown, scope);
            if (failures === attempts.length && (attempts.length > this.maxHedges || error.category === 'cancelled')) {
              finish();
              reject(error);
            } else if (failures === attempts.length) {
              // Every attempt so far failed: hedge now rather than wait for the delay.
              ctx.clock.clearTimer(timer);
              launch();
            }
          },
        );
        if (index > 1 && this.events.hasListeners('hedge'))
          this.events.emit('hedge', {
            key: ctx.key,
            correlationId: ctx.correlationId,
            attempt: index,
            afterMs: this.delayMs * (index - 1),
          });
      };
      const launch = (): void => {
        start();
        if (attempts.length <= this.maxHedges) timer = ctx.clock.setTimer(launch, this.delayMs, true);
      };
      launch();
    });
  }
}

export function hedge(options: HedgeOptions): HedgePolicy {
  return new HedgePolicy(options);
}
