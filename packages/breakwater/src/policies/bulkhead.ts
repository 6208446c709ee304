import { Errors } from '../errors/codes.js';
import type { CallContext } from './context.js';
import { Emitter } from './events.js';
import { classifyFor } from './classify-for.js';
import type { Next } from './policy.js';
import { runSettling, settleAfter, type SettlingPolicy } from './settling.js';

export interface BulkheadOptions {
  /** Calls running at once. */
  maxConcurrent: number;
  /** Calls waiting for a slot; beyond it calls are rejected at once. Default 0. */
  maxQueue?: number;
  /** Longest wait in the queue (ms); Infinity by default. */
  queueTimeoutMs?: number;
  /** The wait a rejected caller is told (`retryAfterMs`, rendered as Retry-After). Default 1,000. */
  retryAfterMs?: number;
}

export interface BulkheadEvents extends Record<string, unknown> {
  rejected: { key: string; correlationId?: string; reason: 'full' | 'queue_timeout'; active: number; queued: number };
}

interface Waiter {
  admit(): void;
}

/**
 * Caps concurrency. Waiters that give up (their caller aborts, or the queue wait times out) leave
 * the queue at once, so aborted callers can never starve live ones (cockatiel #114).
 */
export class BulkheadPolicy implements SettlingPolicy<true> {
  readonly events = new Emitter<BulkheadEvents>('bulkhead');
  private active = 0;
  private readonly queue = new Set<Waiter>();
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  private readonly queueTimeoutMs: number;
  private readonly retryAfterMs: number;

  constructor(options: BulkheadOptions) {
    this.retryAfterMs = options.retryAfterMs ?? 1_000;
    this.maxConcurrent = options.maxConcurrent;
    this.maxQueue = options.maxQueue ?? 0;
    this.queueTimeoutMs = options.queueTimeoutMs ?? Infinity;
    if (!Number.isInteger(this.maxConcurrent) || this.maxConcurrent < 1) {
      throw new TypeError(`Expected \`maxConcurrent\` to be an integer ≥ 1, got ${options.maxConcurrent}.`);
    }
    if (!Number.isInteger(this.maxQueue) || this.maxQueue < 0)
      throw new TypeError(`Expected \`maxQueue\` to be an integer ≥ 0, got ${options.maxQueue}.`);
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.queue.size;
  }

  run<T>(ctx: CallContext, next: Next<T>): Promise<T> {
    return runSettling(this, ctx, next);
  }

  /** Takes a free slot (no promise of its own), or waits in the queue and runs the rest itself. */
  enter(ctx: CallContext, next: Next<unknown>): true | Promise<unknown> {
    if (this.active >= this.maxConcurrent) return this.runQueued(ctx, next);
    this.active++;
    return true;
  }

  /** The slot is given back (or handed to the next waiter) however the call ended. */
  settle(_slot: true, _ctx: CallContext, _next: Next<unknown>, failed: boolean, outcome: unknown): unknown {
    this.releaseSlot();
    if (failed) throw outcome;
    return outcome;
  }

  /** Waits for a slot (handed over by `releaseSlot`), then runs the rest and settles as usual. */
  private async runQueued(ctx: CallContext, next: Next<unknown>): Promise<unknown> {
    await this.wait(ctx);
    return settleAfter(this, true, ctx, next);
  }

  private releaseSlot(): void {
    const waiter = this.queue.values().next().value;
    if (waiter) {
      // The slot passes straight to the next waiter: `active` stays the same.
      this.queue.delete(waiter);
      waiter.admit();
    } else {
      this.active--;
    }
  }

  private wait(ctx: CallContext): Promise<void> {
    if (this.queue.size >= this.maxQueue) return Promise.reject(this.reject(ctx, 'full'));
    const signal = ctx.rootSignal;
    if (signal?.aborted) return Promise.reject(classifyFor(signal.reason, ctx));
    return new Promise<void>((resolve, reject) => {
      let cancelTimer: (() => void) | undefined;
      const leave = (error: unknown): void => {
        this.queue.delete(waiter);
        signal?.removeEventListener('abort', onAbort);
        cancelTimer?.();
        reject(error);
      };
      const onAbort = (): void => leave(classifyFor(signal!.reason, ctx));
      const waiter: Waiter = {
        admit: () => {
          signal?.removeEventListener('abort', onAbort);
          cancelTimer?.();
          resolve();
        },
      };
      this.queue.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      // A waiter leaves at whichever comes first: the queue timeout or the call's own deadline (a
      // call whose budget ran out in the queue must not start work afterwards).
      const untilDeadline = ctx.deadline === Infinity ? Infinity : Math.max(0, ctx.deadline - ctx.clock.now());
      const wait = Math.min(this.queueTimeoutMs, untilDeadline);
      if (wait !== Infinity) {
        const onWaitOver =
          untilDeadline < this.queueTimeoutMs
            ? () => {
                ctx.expire();
                leave(
                  Errors.timeout({
                    message: 'The deadline passed while waiting for a bulkhead slot.',
                    correlationId: ctx.correlationId,
                  }),
                );
              }
            : () => leave(this.reject(ctx, 'queue_timeout'));
        const handle = ctx.clock.setTimer(onWaitOver, wait);
        cancelTimer = () => ctx.clock.clearTimer(handle);
      }
    });
  }

  private reject(ctx: CallContext, reason: 'full' | 'queue_timeout') {
    if (this.events.hasListeners('rejected')) {
      this.events.emit('rejected', {
        key: ctx.key,
        correlationId: ctx.correlationId,
        reason,
        active: this.active,
        queued: this.queue.size,
      });
    }
    return Errors.bulkheadFull({
      message:
        reason === 'full'
          ? `Bulkhead full: ${this.active} running, ${this.queue.size} queued.`
          : `Waited ${this.queueTimeoutMs} ms for a bulkhead slot.`,
      correlationId: ctx.correlationId,
      retryAfterMs: this.retryAfterMs,
      details: { reason },
    });
  }
}

export function bulkhead(options: BulkheadOptions): BulkheadPolicy {
  return new BulkheadPolicy(options);
}
