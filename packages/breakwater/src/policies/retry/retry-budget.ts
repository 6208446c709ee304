import { systemClock, type Clock } from '../clock.js';
import type { StateStore } from '../state/state-store.js';

export interface RetryBudgetOptions {
  /** Retries may add at most this fraction of the calls. Default 0.1 (10%). */
  ratio?: number;
  /** A floor so a quiet service can still retry: this many retries per second. Default 3. */
  minPerSecond?: number;
  /** Unspent credit from calls is capped, so a long healthy spell cannot fund a retry storm. Default 100. */
  maxBalance?: number;
  clock?: Clock;
  /**
   * Shares the budget through a store (e.g. `redisState()`): every replica's first attempts fund
   * one budget and every replica's retries draw on it, so N replicas cannot retry N times as much.
   */
  store?: StateStore;
  /** The budget's name in the store. Default 'retry'. */
  name?: string;
}

/**
 * A token bucket shared by every retry policy that uses it: each first attempt deposits `ratio`
 * of a token, each retry withdraws one, and a floor bucket refills `minPerSecond`. Under a hard
 * outage retries therefore add at most `ratio` of the traffic plus the floor — never a multiple.
 */
export class RetryBudget {
  readonly ratio: number;
  readonly minPerSecond: number;
  readonly maxBalance: number;
  private readonly clock: Clock;
  private readonly store: StateStore | undefined;
  private readonly name: string;
  private balance = 0;
  private floor: number;
  private floorUpdatedAt: number;
  exhaustedCount = 0;

  constructor(options: RetryBudgetOptions = {}) {
    this.ratio = options.ratio ?? 0.1;
    this.minPerSecond = options.minPerSecond ?? 3;
    this.maxBalance = options.maxBalance ?? 100;
    if (!(this.ratio >= 0 && this.ratio <= 1))
      throw new TypeError(`Expected \`ratio\` between 0 and 1, got ${this.ratio}.`);
    if (!(this.minPerSecond >= 0))
      throw new TypeError(`Expected \`minPerSecond\` to be non-negative, got ${this.minPerSecond}.`);
    if (!(this.maxBalance >= 0))
      throw new TypeError(`Expected \`maxBalance\` to be non-negative, got ${this.maxBalance}.`);
    this.clock = options.clock ?? systemClock;
    this.store = options.store;
    this.name = options.name ?? 'retry';
    this.floor = this.minPerSecond;
    this.floorUpdatedAt = this.clock.now();
  }

  /** A first attempt: earns `ratio` of a retry. */
  recordCall(): void {
    if (this.store) this.store.depositRetryCredit(this.name, this.ratio, this);
    else this.deposit(this.ratio);
  }

  /** Adds credit (capped at `maxBalance`). */
  deposit(amount: number): void {
    this.balance = Math.min(this.maxBalance, this.balance + amount);
  }

  /** Takes one retry token if there is one (asynchronously only with a remote store). */
  tryRetry(): boolean | Promise<boolean> {
    if (!this.store) return this.withdrawLocal();
    const granted = this.store.withdrawRetry(this.name, this);
    if (granted === true) return true;
    if (granted === false) return this.exhausted();
    return granted.then((ok) => ok || this.exhausted());
  }

  private exhausted(): false {
    this.exhaustedCount++;
    return false;
  }

  /** Takes one retry from this process's own balance, whatever the store. */
  withdrawLocal(): boolean {
    if (this.balance >= 1) {
      this.balance -= 1;
      return true;
    }
    this.refillFloor();
    if (this.floor >= 1) {
      this.floor -= 1;
      return true;
    }
    return this.exhausted();
  }

  /** Whole retries available right now (with a remote store: as last known). */
  get available(): number {
    if (this.store) return this.store.retryCreditAvailable(this.name, this);
    this.refillFloor();
    return Math.floor(this.balance) + Math.floor(this.floor);
  }

  private refillFloor(): void {
    const now = this.clock.now();
    const elapsed = now - this.floorUpdatedAt;
    if (elapsed <= 0) return;
    this.floor = Math.min(this.minPerSecond, this.floor + (elapsed / 1000) * this.minPerSecond);
    this.floorUpdatedAt = now;
  }
}

export function retryBudget(options?: RetryBudgetOptions): RetryBudget {
  return new RetryBudget(options);
}
