import type { LocalStateStore } from './local-state-store.js';
import type { RetryCreditSettings } from './state-store.js';
import type { StoreHealth } from './store-health.js';

/**
 * Retry credit as a remote store keeps it: every deposit is kept locally too (what this process
 * earned is its budget while the store is out of reach) and batched for the store; the balance
 * the store last reported is what metrics read.
 */
export class RetryCredit {
  private readonly pending = new Map<string, { amount: number; settings: RetryCreditSettings }>();
  private readonly known = new Map<string, number>();

  constructor(
    private readonly local: LocalStateStore,
    private readonly status: StoreHealth,
  ) {}

  deposit(budget: string, amount: number, settings: RetryCreditSettings): void {
    this.local.depositRetryCredit(budget, amount, settings);
    const pending = this.pending.get(budget);
    if (pending) pending.amount += amount;
    else this.pending.set(budget, { amount, settings });
  }

  /** The credit not sent yet for `budget`, now handed to the caller to send. */
  take(budget: string): number {
    const amount = this.pending.get(budget)?.amount ?? 0;
    this.pending.delete(budget);
    return amount;
  }

  /** Every batch not sent yet, handed to the caller to send. */
  drain(): Array<[string, { amount: number; settings: RetryCreditSettings }]> {
    const batch = [...this.pending];
    this.pending.clear();
    return batch;
  }

  /** The store's answer: whole retries available fleet-wide. */
  learned(budget: string, available: number): void {
    this.known.set(budget, available);
  }

  available(budget: string, settings: RetryCreditSettings): number {
    const known = this.status.reachable ? this.known.get(budget) : undefined;
    return known ?? this.local.retryCreditAvailable(budget, settings);
  }
}
