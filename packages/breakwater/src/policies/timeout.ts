import { Errors } from '../errors/codes.js';
import type { CallContext } from './context.js';
import { Emitter } from './events.js';
import { schedulerFor } from './deadline-scheduler.js';
import type { Next } from './policy.js';
import { runSettling, type SettlingPolicy } from './settling.js';

export interface TimeoutOptions {
  /**
   * `cooperative` (default): the callee's `ctx.signal` aborts at the deadline and the callee is
   * trusted to stop. `aggressive`: the call also rejects at the deadline even if the callee ignores
   * the signal (its eventual result is dropped).
   */
  mode?: 'cooperative' | 'aggressive';
}

export interface TimeoutEvents extends Record<string, unknown> {
  timeout: { key: string; correlationId?: string; ms: number; attempt: number };
}

/**
 * A deadline for everything inside it: put it inside a retry for a per-attempt timeout, outside
 * for an overall one. Deadlines nest: an inner timeout can only tighten an outer one.
 */
export class TimeoutPolicy implements SettlingPolicy<CallContext> {
  readonly events = new Emitter<TimeoutEvents>('timeout');
  private readonly aggressive: boolean;

  constructor(
    readonly ms: number,
    options: TimeoutOptions = {},
  ) {
    if (!(ms > 0) || !Number.isFinite(ms))
      throw new TypeError(`Expected \`ms\` to be a positive finite number, got ${ms}.`);
    this.aggressive = options.mode === 'aggressive';
  }

  readonly scopes = true;

  run<T>(ctx: CallContext, next: Next<T>): Promise<T> {
    return runSettling(this, ctx, next);
  }

  /** The deadline scope the rest runs in; in aggressive mode, the race against it. */
  enter(ctx: CallContext, next: Next<unknown>): CallContext | Promise<unknown> {
    const scope = ctx.withDeadline(
      ctx.now() + this.ms,
      this.events.hasListeners('timeout')
        ? () =>
            this.events.emit('timeout', {
              key: ctx.key,
              correlationId: ctx.correlationId,
              ms: this.ms,
              attempt: ctx.attempt,
            })
        : undefined,
    );
    return this.aggressive ? this.race(scope, next) : scope;
  }

  /** The work settled: the scope's timer and listener, if its signal was made, go. */
  settle(scope: CallContext, _ctx: CallContext, _next: Next<unknown>, failed: boolean, outcome: unknown): unknown {
    scope.finish();
    if (failed) throw outcome;
    return outcome;
  }

  /** Rejects at the deadline whatever the callee does; its signal, if it read one, aborts too. */
  private race<T>(scope: CallContext, next: Next<T>): Promise<T> {
    const work = scope.track(next(scope));
    return new Promise<T>((resolve, reject) => {
      const scheduler = schedulerFor(scope.clock);
      const entry = scheduler.schedule(scope.deadline, () => {
        scope.expire();
        reject(Errors.timeout({ message: `Timed out after ${this.ms} ms.`, correlationId: scope.correlationId }));
      });
      work.then(
        (value) => (scheduler.cancel(entry), resolve(value)),
        (error: unknown) => (scheduler.cancel(entry), reject(error)),
      );
    });
  }
}

export function timeout(ms: number, options?: TimeoutOptions): TimeoutPolicy {
  return new TimeoutPolicy(ms, options);
}
