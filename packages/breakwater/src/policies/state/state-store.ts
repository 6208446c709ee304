/**
 * Where the policies keep state that several processes may share: breaker transitions per key,
 * token buckets per key and retry budgets. Without a store every policy keeps its own state in
 * memory (the fastest path, and the default). With one, replicas see each other's decisions:
 * `localState()` for one process, `redisState()` (`breakwater/redis`) for many.
 *
 * Every operation answers synchronously when it can (`T | Promise<T>`): the in-process store never
 * allocates a promise, a remote one answers from its local cache where that is enough.
 */
export interface StateStore {
  readonly name: string;

  /** Takes a token from `bucket`: 0 when granted, else the ms until one is available. */
  takeToken(bucket: string, rate: TokenRate): number | Promise<number>;

  /** Adds retry credit earned by first attempts (batched by remote stores). */
  depositRetryCredit(budget: string, amount: number, settings: RetryCreditSettings): void;
  /** Takes one retry from `budget`: true when granted. */
  withdrawRetry(budget: string, settings: RetryCreditSettings): boolean | Promise<boolean>;
  /** Whole retries available, as last known (for metrics). */
  retryCreditAvailable(budget: string, settings: RetryCreditSettings): number;

  /** Tells every watcher of `space` (in every process) that circuit `key` changed. */
  publishCircuit(space: string, key: string, record: CircuitRecord): void;
  /** Calls `onChange` for transitions published by others; returns a function that stops. */
  watchCircuits(space: string, onChange: (key: string, record: CircuitRecord) => void): () => void;
  /**
   * Counts a fault of circuit `key` seen by any process: returns the count across the fleet since
   * the last reset, transition, or `windowMs` without a fault. 0 when the store cannot tell.
   */
  countFailure(space: string, key: string, windowMs: number): number | Promise<number>;
  /** A success after faults: the fleet's count starts again. */
  clearFailures(space: string, key: string): void;
  /**
   * Claims the right to probe a half-open circuit for `ttlMs`: one process probes for the whole
   * fleet. The claim ends with the next published transition of the key, or at its TTL.
   */
  claimProbe(space: string, key: string, ttlMs: number): boolean | Promise<boolean>;
}

export interface TokenRate {
  perSecond: number;
  burst: number;
}

export interface RetryCreditSettings {
  /** Floor refilled per second so a quiet service can still retry. */
  minPerSecond: number;
  /** Cap on the earned credit. */
  maxBalance: number;
}

/** A circuit's shared state. Durations, not instants: the replicas' monotonic clocks differ. */
export interface CircuitRecord {
  state: 'open' | 'closed' | 'isolated';
  /** For `open`: the break left, ms. */
  remainingMs: number;
  /** Opens in a row without recovery (lengthens the next break). */
  consecutiveOpens: number;
  /** Which process decided it. */
  by: string;
}
