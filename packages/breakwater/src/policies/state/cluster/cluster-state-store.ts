import { systemClock, type Clock } from '../../clock.js';
import { LocalStateStore } from '../local-state-store.js';
import { decide } from '../remote-decision.js';
import { RetryCredit } from '../retry-credit.js';
import type { CircuitRecord, RetryCreditSettings, StateStore, TokenRate } from '../state-store.js';
import { StoreHealth, type StateStoreHealth } from '../store-health.js';
import { isCircuitBroadcast, isStateReply, NO_ANSWER, type StateRequest } from './messages.js';

export interface ClusterStateOptions {
  /** Longest wait for the primary on a decision (ms); past it the worker decides alone. Default 20. */
  timeoutMs?: number;
  /** Retry credit is sent in batches this often (ms). Default 100. */
  flushIntervalMs?: number;
  onFallback?: (operation: string, error: Error) => void;
  clock?: Clock;
}

type Ask = StateRequest extends infer R ? (R extends { id: number } ? Omit<R, 'bw' | 'id'> : never) : never;

/**
 * The store of a node:cluster worker: state shared with the other workers through the primary
 * (`serveClusterState()`), over IPC. Same contract as the Redis store: breakers decide locally and
 * hear transitions; tokens, retries and probe claims are asked, with a bounded wait and a local
 * answer if the primary does not reply.
 */
export class ClusterStateStore implements StateStore {
  readonly name = 'cluster';
  readonly local: LocalStateStore;
  private readonly timeoutMs: number;
  private readonly status: StoreHealth;
  /** Questions in flight, by id, with when they were asked (a Map keeps them in that order). */
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; askedAt: number }>();
  private readonly credit: RetryCredit;
  private nextId = 1;
  private readonly timer: NodeJS.Timeout;
  private readonly onMessage = (message: unknown): void => this.received(message);

  constructor(options: ClusterStateOptions = {}) {
    if (!process.send) throw new Error('clusterState() runs in a node:cluster worker (process.send is missing).');
    this.timeoutMs = options.timeoutMs ?? 20;
    this.local = new LocalStateStore({ clock: options.clock ?? systemClock });
    this.status = new StoreHealth(options.onFallback);
    this.credit = new RetryCredit(this.local, this.status);
    process.on('message', this.onMessage);
    this.timer = setInterval(() => {
      this.flush();
      this.forgetUnanswered();
    }, options.flushIntervalMs ?? 100);
    this.timer.unref();
  }

  takeToken(bucket: string, rate: TokenRate): number | Promise<number> {
    return this.decide(
      'takeToken',
      { op: 'takeToken', bucket, rate },
      (v) => Number(v),
      () => this.local.takeToken(bucket, rate),
    );
  }

  depositRetryCredit(budget: string, amount: number, settings: RetryCreditSettings): void {
    this.credit.deposit(budget, amount, settings);
  }

  withdrawRetry(budget: string, settings: RetryCreditSettings): boolean | Promise<boolean> {
    const credit = this.credit.take(budget);
    return this.decide(
      'withdrawRetry',
      { op: 'withdrawRetry', budget, settings, credit },
      (value) => {
        const [granted, available] = value as [boolean, number];
        this.credit.learned(budget, available);
        return granted;
      },
      () => this.local.withdrawRetry(budget, settings),
    );
  }

  retryCreditAvailable(budget: string, settings: RetryCreditSettings): number {
    return this.credit.available(budget, settings);
  }

  publishCircuit(space: string, key: string, record: CircuitRecord): void {
    this.local.publishCircuit(space, key, record);
    this.tell({ op: 'publishCircuit', space, key, record });
  }

  watchCircuits(space: string, onChange: (key: string, record: CircuitRecord) => void): () => void {
    // Transitions broadcast by the primary reach the local store's watchers (received() below).
    const unwatch = this.local.watchCircuits(space, onChange);
    // A worker that starts late learns what the others decided.
    void this.ask({ op: 'circuits', space }).then(
      (known) => {
        for (const [key, record] of known as Array<[string, CircuitRecord]>) onChange(key, record);
      },
      () => {},
    );
    return unwatch;
  }

  countFailure(space: string, key: string, windowMs: number): number | Promise<number> {
    return this.decide('countFailure', { op: 'countFailure', space, key, windowMs }, Number, () => 0);
  }

  clearFailures(space: string, key: string): void {
    this.tell({ op: 'clearFailures', space, key });
  }

  claimProbe(space: string, key: string, ttlMs: number): boolean | Promise<boolean> {
    return this.decide('claimProbe', { op: 'claimProbe', space, key, ttlMs }, Boolean, () => true);
  }

  health(): StateStoreHealth {
    return this.status.report(process.connected);
  }

  /** Sends the retry credit batched so far. */
  flush(): void {
    for (const [budget, { amount, settings }] of this.credit.drain())
      this.ask({ op: 'depositRetryCredit', budget, settings, amount }).then(
        (available) => void this.credit.learned(budget, Number(available)),
        () => {},
      );
  }

  close(): void {
    this.flush();
    clearInterval(this.timer);
    process.off('message', this.onMessage);
  }

  private decide<T>(operation: string, ask: Ask, read: (value: unknown) => T, local: () => T): T | Promise<T> {
    const unreachable = process.connected ? undefined : 'the primary is gone';
    return decide(this.status, this.timeoutMs, operation, unreachable, () => this.ask(ask).then(read), local);
  }

  private ask(ask: Ask): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // The wait is bounded by decide(); an answer that never comes is forgotten after a second.
      this.pending.set(id, { resolve, askedAt: Date.now() });
      process.send!({ bw: 'state', id, ...ask }, undefined, undefined, (error: Error | null) => {
        if (!error) return;
        this.pending.delete(id);
        reject(error);
      });
    });
  }

  /** Questions the primary never answered (it died, or is gone): at most a second's worth is kept. */
  private forgetUnanswered(): void {
    const before = Date.now() - 1_000;
    for (const [id, { askedAt }] of this.pending) {
      if (askedAt > before) break;
      this.pending.delete(id);
    }
  }

  private tell(ask: Ask): void {
    if (process.connected) process.send!({ bw: 'state', id: NO_ANSWER, ...ask }, undefined, undefined, () => {});
  }

  private received(message: unknown): void {
    if (isStateReply(message)) {
      const pending = this.pending.get(message.id);
      this.pending.delete(message.id);
      pending?.resolve(message.value);
    } else if (isCircuitBroadcast(message)) {
      this.local.deliver(message.space, message.key, message.record);
    }
  }
}

export function clusterState(options?: ClusterStateOptions): ClusterStateStore {
  return new ClusterStateStore(options);
}
