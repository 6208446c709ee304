import type { BreakwaterError } from '../../errors/breakwater-error.js';
import { sleep } from '../clock.js';
import type { CallContext } from '../context.js';
import { Emitter } from '../events.js';
import { classifyFor } from '../classify-for.js';
import { invoke } from '../invoke.js';
import type { Next } from '../policy.js';
import { runSettling, type SettlingPolicy } from '../settling.js';
import type { Backoff } from './backoff/backoff.js';
import { fullJitter } from './backoff/full-jitter.js';
import type { RetryBudget } from './retry-budget.js';

export interface RetryOptions {
  /** Total calls including the first (resilience4j's meaning; cockatiel and Polly count retries). Default 3. */
  maxAttempts?: number;
  /** Default: exponential, full jitter, 200 ms doubling to a 20 s cap. */
  backoff?: Backoff;
  /** Which errors to retry. Default: `error.retryable` (from the category table and the source). */
  retryOn?: (error: BreakwaterError, ctx: CallContext) => boolean;
  /** Shared cap on the load retries may add. */
  budget?: RetryBudget;
  /** Stop retrying once this much time has passed since the first attempt (ms). */
  maxElapsedMs?: number;
}

export type GiveUpReason = 'not_retryable' | 'max_attempts' | 'deadline' | 'budget' | 'cancelled';

export interface RetryEvents extends Record<string, unknown> {
  attempt: { key: string; correlationId?: string; attempt: number };
  retry: {
    key: string;
    correlationId?: string;
    attempt: number;
    delayMs: number;
    reason: 'retry_after' | 'backoff';
    error: BreakwaterError;
  };
  giveUp: { key: string; correlationId?: string; attempts: number; reason: GiveUpReason; error: BreakwaterError };
  budgetExhausted: { key: string; correlationId?: string; error: BreakwaterError };
}

/**
 * Retries what the classification says is retryable. The delay is the backoff, but never less
 * than the server's Retry-After; when that delay would cross the deadline the call fails at once,
 * carrying the server's delay, instead of waiting for a retry that cannot happen.
 */
export class RetryPolicy implements SettlingPolicy<number> {
  readonly classifies = true;
  readonly events = new Emitter<RetryEvents>('retry');
  readonly maxAttempts: number;
  private readonly backoff: Backoff;
  private readonly retryOn: (error: BreakwaterError, ctx: CallContext) => boolean;
  private readonly budget: RetryBudget | undefined;
  private readonly maxElapsedMs: number;

  constructor(options: RetryOptions = {}) {
    this.maxAttempts = options.maxAttempts ?? 3;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new TypeError(
        `Expected \`maxAttempts\` (total calls, including the first) to be an integer ≥ 1, got ${options.maxAttempts}.`,
      );
    }
    this.backoff = options.backoff ?? fullJitter();
    this.retryOn = options.retryOn ?? ((error) => error.retryable);
    this.budget = options.budget;
    this.maxElapsedMs = options.maxElapsedMs ?? Infinity;
  }

  run<T>(ctx: CallContext, next: Next<T>): Promise<T> {
    return runSettling(this, ctx, next);
  }

  /**
   * The first attempt. It runs without an async frame: on the happy path, which is nearly every
   * call, the retry costs no promise of its own. The state is when the call started (for `maxElapsedMs`).
   */
  enter(ctx: CallContext): number {
    this.budget?.recordCall();
    const startedAt = this.maxElapsedMs === Infinity ? 0 : ctx.now();
    this.beginAttempt(ctx, 1);
    return startedAt;
  }

  /** A success passes; a failure goes on to the retries (a promise: they wait). */
  settle(startedAt: number, ctx: CallContext, next: Next<unknown>, failed: boolean, outcome: unknown): unknown {
    return failed ? this.retryAfter(ctx, next, outcome, startedAt) : outcome;
  }

  /** One attempt begins: its number on the context, and its event. */
  private beginAttempt(ctx: CallContext, attempt: number): void {
    ctx.beginAttempt(attempt);
    if (this.events.hasListeners('attempt'))
      this.events.emit('attempt', { key: ctx.key, correlationId: ctx.correlationId, attempt });
  }

  /** After the first attempt failed: wait and try again while the error, budget and deadline allow. */
  private async retryAfter<T>(ctx: CallContext, next: Next<T>, firstFailure: unknown, startedAt: number): Promise<T> {
    let thrown = firstFailure;
    let previousDelay = 0;
    for (let attempt = 1; ; attempt++) {
      const error = classifyFor(thrown, ctx);
      const delay = this.delayBeforeRetry(ctx, error, attempt, previousDelay, startedAt);
      if (delay === undefined || !(await this.budgetAllows(ctx, error, attempt))) throw error;
      this.noteRetry(ctx, error, attempt, delay);
      previousDelay = delay;
      await sleep(ctx.clock, delay, ctx.rootSignal).catch(() => {
        throw classifyFor(ctx.rootSignal?.reason, ctx);
      });
      try {
        this.beginAttempt(ctx, attempt + 1);
        return await invoke(next, ctx);
      } catch (failure) {
        thrown = failure;
      }
    }
  }

  /** The wait before the next attempt, or undefined to give up (with an event saying why). */
  private delayBeforeRetry(
    ctx: CallContext,
    error: BreakwaterError,
    attempt: number,
    previousDelay: number,
    startedAt: number,
  ): number | undefined {
    const giveUp = (reason: GiveUpReason): undefined => {
      if (this.events.hasListeners('giveUp'))
        this.events.emit('giveUp', {
          key: ctx.key,
          correlationId: ctx.correlationId,
          attempts: attempt,
          reason,
          error,
        });
      return undefined;
    };
    if (error.category === 'cancelled' || ctx.cancelledByCaller) return giveUp('cancelled');
    if (!this.retryOn(error, ctx)) return giveUp('not_retryable');
    if (attempt >= this.maxAttempts) return giveUp('max_attempts');
    const backoff = this.backoff.delay(attempt, previousDelay);
    const serverDelay = error.retryAfterMs ?? 0;
    const delay = Math.max(backoff, serverDelay);
    const elapsedLeft = this.maxElapsedMs === Infinity ? Infinity : this.maxElapsedMs - (ctx.clock.now() - startedAt);
    if (delay >= Math.min(ctx.timeLeft, elapsedLeft)) return giveUp('deadline');
    return delay;
  }

  /** Takes a retry from the budget (a remote budget may answer later); false: give up. */
  private async budgetAllows(ctx: CallContext, error: BreakwaterError, attempt: number): Promise<boolean> {
    if (!this.budget) return true;
    const granted = this.budget.tryRetry();
    if (granted === true || (granted !== false && (await granted))) return true;
    if (this.events.hasListeners('budgetExhausted'))
      this.events.emit('budgetExhausted', { key: ctx.key, correlationId: ctx.correlationId, error });
    if (this.events.hasListeners('giveUp'))
      this.events.emit('giveUp', {
        key: ctx.key,
        correlationId: ctx.correlationId,
        attempts: attempt,
        reason: 'budget',
        error,
      });
    return false;
  }

  private noteRetry(ctx: CallContext, error: BreakwaterError, attempt: number, delay: number): void {
    const serverDelay = error.retryAfterMs ?? 0;
    // The delay is the larger of the backoff and the server's: the server's when it won.
    const reason = serverDelay > 0 && delay === serverDelay ? 'retry_after' : 'backoff';
    ctx.trail?.noteRetry(delay, reason);
    if (this.events.hasListeners('retry'))
      this.events.emit('retry', {
        key: ctx.key,
        correlationId: ctx.correlationId,
        attempt,
        delayMs: delay,
        reason,
        error,
      });
  }
}

export function retry(options?: RetryOptions): RetryPolicy {
  return new RetryPolicy(options);
}
