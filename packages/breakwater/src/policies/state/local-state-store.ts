import { systemClock, type Clock } from '../clock.js';
import { RateLimiterPolicy } from '../rate-limiter.js';
import { RetryBudget } from '../retry/retry-budget.js';
import type { CircuitRecord, RetryCreditSettings, StateStore, TokenRate } from './state-store.js';

export interface LocalStateOptions {
  clock?: Clock;
  /** Bound on remembered token buckets per rate. Default 10,000. */
  maxKeys?: number;
}

/**
 * The in-process store: state shared by the policies of one process (two gateways embedded in
 * one server, say), and the state a remote store falls back to when its backend is unreachable.
 * Every answer is synchronous.
 */
export class LocalStateStore implements StateStore {
  readonly name = 'local';
  private readonly clock: Clock;
  private readonly maxKeys: number;
  /** One limiter per rate: a bucket's size and refill are part of its identity. */
  private readonly limiters = new Map<string, RateLimiterPolicy>();
  private readonly budgets = new Map<string, RetryBudget>();
  private readonly watchers = new Map<string, Set<(key: string, record: CircuitRecord) => void>>();
  /** Faults per circuit across the breakers of this store, until a quiet `windowMs`. */
  private readonly failures = new Map<string, { count: number; until: number }>();

  constructor(options: LocalStateOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  takeToken(bucket: string, rate: TokenRate): number {
    const id = `${rate.perSecond}/${rate.burst}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      limiter = new RateLimiterPolicy({ ...rate, clock: this.clock, maxKeys: this.maxKeys });
      this.limiters.set(id, limiter);
    }
    return limiter.take(bucket);
  }

  depositRetryCredit(budget: string, amount: number, settings: RetryCreditSettings): void {
    this.budget(budget, settings).deposit(amount);
  }

  withdrawRetry(budget: string, settings: RetryCreditSettings): boolean {
    return this.budget(budget, settings).withdrawLocal();
  }

  retryCreditAvailable(budget: string, settings: RetryCreditSettings): number {
    return this.budget(budget, settings).available;
  }

  publishCircuit(space: string, key: string, record: CircuitRecord): void {
    this.clearFailures(space, key);
    this.deliver(space, key, record);
  }

  /** Tells this process's watchers of `space` about a transition (one decided elsewhere, too). */
  deliver(space: string, key: string, record: CircuitRecord): void {
    for (const onChange of this.watchers.get(space) ?? []) onChange(key, record);
  }

  watchCircuits(space: string, onChange: (key: string, record: CircuitRecord) => void): () => void {
    let set = this.watchers.get(space);
    if (!set) this.watchers.set(space, (set = new Set()));
    set.add(onChange);
    return () => set.delete(onChange);
  }

  countFailure(space: string, key: string, windowMs: number): number {
    const id = `${space}\n${key}`;
    const now = this.clock.now();
    const known = this.failures.get(id);
    const count = known && known.until > now ? known.count + 1 : 1;
    this.failures.set(id, { count, until: now + windowMs });
    if (this.failures.size > this.maxKeys)
      for (const [other, entry] of this.failures) if (entry.until <= now) this.failures.delete(other);
    return count;
  }

  clearFailures(space: string, key: string): void {
    this.failures.delete(`${space}\n${key}`);
  }

  /** One process: its breakers already bound their own probes. */
  claimProbe(): boolean {
    return true;
  }

  private budget(name: string, settings: RetryCreditSettings): RetryBudget {
    let budget = this.budgets.get(name);
    if (!budget) {
      budget = new RetryBudget({
        ratio: 0,
        minPerSecond: settings.minPerSecond,
        maxBalance: settings.maxBalance,
        clock: this.clock,
      });
      this.budgets.set(name, budget);
    }
    return budget;
  }
}

export function localState(options?: LocalStateOptions): LocalStateStore {
  return new LocalStateStore(options);
}
