import { Errors } from '../errors/codes.js';
import { systemClock, type Clock } from './clock.js';
import type { CallContext } from './context.js';
import { Emitter } from './events.js';
import type { Next, Policy } from './policy.js';
import type { StateStore } from './state/state-store.js';

export interface RateLimiterOptions {
  /** Sustained rate per key. */
  perSecond: number;
  /** Bucket size: calls allowed in a burst. Default: `perSecond`. */
  burst?: number;
  keyOf?: (ctx: CallContext) => string;
  /** Bound on remembered keys (idle buckets are full, so forgetting them changes nothing). Default 10,000. */
  maxKeys?: number;
  clock?: Clock;
  /**
   * Shares the buckets through a store (e.g. `redisState()`): a limit of 100/s holds across every
   * replica instead of 100/s each. Unreachable store: each process enforces the limit alone.
   */
  store?: StateStore;
  /** The limiter's name in the store (buckets are `name:key`). Default 'rate'. */
  name?: string;
}

export interface RateLimiterEvents extends Record<string, unknown> {
  rejected: { key: string; retryAfterMs: number };
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** A token bucket per key; a call without a token is rejected with the wait until the next one. */
export class RateLimiterPolicy implements Policy {
  readonly events = new Emitter<RateLimiterEvents>('rateLimiter');
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly burst: number;
  private readonly keyOf: (ctx: CallContext) => string;
  private readonly maxKeys: number;
  private readonly clock: Clock;
  private readonly store: StateStore | undefined;
  private readonly name: string;
  private readonly rate: { perSecond: number; burst: number };

  constructor(options: RateLimiterOptions) {
    if (!(options.perSecond > 0))
      throw new TypeError(`Expected \`perSecond\` to be a positive number, got ${options.perSecond}.`);
    this.perMs = options.perSecond / 1000;
    this.burst = options.burst ?? options.perSecond;
    if (!(this.burst >= 1)) throw new TypeError(`Expected \`burst\` to be at least 1, got ${this.burst}.`);
    this.keyOf = options.keyOf ?? ((ctx) => ctx.key);
    this.maxKeys = options.maxKeys ?? 10_000;
    this.clock = options.clock ?? systemClock;
    this.store = options.store;
    this.name = options.name ?? 'rate';
    this.rate = { perSecond: options.perSecond, burst: this.burst };
  }

  run<T>(ctx: CallContext, next: Next<T>): Promise<T> {
    const key = this.keyOf(ctx);
    const wait = this.acquire(key);
    if (wait === 0) return next(ctx);
    if (typeof wait !== 'number') return wait.then((ms) => (ms === 0 ? next(ctx) : this.reject(ctx, key, ms)));
    return this.reject(ctx, key, wait);
  }

  private reject(ctx: CallContext, key: string, wait: number): Promise<never> {
    if (this.events.hasListeners('rejected')) this.events.emit('rejected', { key, retryAfterMs: wait });
    return Promise.reject(
      Errors.rateLimiterRejected({
        message: `Rate limit for ${key} reached.`,
        retryAfterMs: wait,
        correlationId: ctx.correlationId,
        details: { key },
      }),
    );
  }

  /** Takes a token for `key` from the store when there is one, else locally: 0 or the ms to wait. */
  acquire(key: string): number | Promise<number> {
    return this.store ? this.store.takeToken(`${this.name}:${key}`, this.rate) : this.take(key);
  }

  /** The ms until `key` has a token (0: it has one now), without taking it (this process's buckets). */
  peek(key: string): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return 0;
    const tokens = Math.min(this.burst, bucket.tokens + (this.clock.now() - bucket.updatedAt) * this.perMs);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.perMs);
  }

  /** Takes a token from this process's bucket: 0 when granted, else the ms until one is available. */
  take(key: string): number {
    const now = this.clock.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.forgetFullBuckets(now);
      bucket = { tokens: this.burst, updatedAt: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.updatedAt) * this.perMs);
    bucket.updatedAt = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.perMs);
  }

  private forgetFullBuckets(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.updatedAt) * this.perMs >= this.burst) this.buckets.delete(key);
    }
    if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
  }
}

export function rateLimiter(options: RateLimiterOptions): RateLimiterPolicy {
  return new RateLimiterPolicy(options);
}
