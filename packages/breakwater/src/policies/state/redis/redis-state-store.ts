import type { Cluster, Redis } from 'ioredis';
import { systemClock, type Clock } from '../../clock.js';
import { LocalStateStore } from '../local-state-store.js';
import type { CircuitRecord, RetryCreditSettings, StateStore, TokenRate } from '../state-store.js';
import { COUNT_FAILURE, PUBLISH_CIRCUIT, RETRY_BUDGET, TAKE_TOKEN } from './scripts.js';
import { decide } from '../remote-decision.js';
import { RetryCredit } from '../retry-credit.js';
import { StoreHealth, type StateStoreHealth } from '../store-health.js';

export interface RedisStateOptions {
  /**
   * The commands connection (a `Redis`, or a `Cluster`: every script keeps to one key-slot). Its
   * owner closes it; the store opens one more, for subscriptions.
   */
  redis: Redis | Cluster;
  /** Key and channel prefix. Default 'breakwater'. */
  prefix?: string;
  /**
   * Longest wait for Redis on a decision (ms); past it the decision is taken from local state and
   * counted as a fallback. Default 5.
   */
  timeoutMs?: number;
  /** How often watched circuits are re-read, the bound on staleness if a message is lost (ms). Default 1,000. */
  syncIntervalMs?: number;
  /** Retry credit is sent in batches this often (ms). Default 100. */
  flushIntervalMs?: number;
  /** How long an idle space's circuits and budgets are kept (ms). Default one day. */
  ttlMs?: number;
  /** Called when a decision falls back to local state (for metrics and logs). */
  onFallback?: (operation: string, error: Error) => void;
  clock?: Clock;
}

interface Stored {
  /** state */
  s: CircuitRecord['state'];
  /** until (wall-clock ms) */
  u: number;
  /** consecutive opens */
  n: number;
  by: string;
}

type Commands = (Redis | Cluster) & {
  bwTakeToken(key: string, perMs: string, burst: string): Promise<number>;
  bwRetryBudget(key: string, ...args: string[]): Promise<[number, number]>;
  bwPublishCircuit(hash: string, probe: string, failures: string, ...args: string[]): Promise<number>;
  bwCountFailure(key: string, windowMs: string): Promise<number>;
};

/**
 * Breaker transitions, token buckets and retry budgets shared by every replica through Redis.
 * Breakers answer from local state (transitions arrive by pub/sub and a periodic re-read), so
 * their hot path makes no round trip; a token or a retry costs one script call. Redis slow or down:
 * the decision is taken locally within `timeoutMs`, health says `warn`, and shared state resumes
 * when Redis is back. The resilience layer never becomes the outage.
 */
export class RedisStateStore implements StateStore {
  readonly name = 'redis';
  /** What the store decides alone while Redis is out of reach. */
  readonly local: LocalStateStore;
  private readonly redis: Commands;
  private subscriber: Redis | Cluster | undefined;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly ttlMs: number;
  private readonly status: StoreHealth;
  /** Spaces watched here, each subscribed once (the watchers themselves are the local store's). */
  private readonly spaces = new Set<string>();
  /** The last stored value seen per space and key: a re-read adopts only what changed. */
  private readonly seen = new Map<string, Map<string, string>>();
  /** Transitions decided while Redis was out of reach, published when it is back. */
  private readonly unsent = new Map<string, { space: string; key: string; record: CircuitRecord }>();
  private readonly credit: RetryCredit;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly onReady = (): void => this.resync();

  constructor(options: RedisStateOptions) {
    this.redis = options.redis as Commands;
    this.prefix = options.prefix ?? 'breakwater';
    this.timeoutMs = options.timeoutMs ?? 5;
    this.ttlMs = options.ttlMs ?? 86_400_000;
    this.local = new LocalStateStore({ clock: options.clock ?? systemClock });
    this.status = new StoreHealth(options.onFallback);
    this.credit = new RetryCredit(this.local, this.status);
    this.redis.defineCommand('bwTakeToken', { numberOfKeys: 1, lua: TAKE_TOKEN });
    this.redis.defineCommand('bwRetryBudget', { numberOfKeys: 1, lua: RETRY_BUDGET });
    this.redis.defineCommand('bwPublishCircuit', { numberOfKeys: 3, lua: PUBLISH_CIRCUIT });
    this.redis.defineCommand('bwCountFailure', { numberOfKeys: 1, lua: COUNT_FAILURE });
    this.redis.on('error', this.status.noteError);
    this.redis.on('ready', this.onReady);
    // The staleness bound: every circuit re-read, and transitions that could not go out retried.
    this.every(options.syncIntervalMs ?? 1_000, () => (this.unsent.size > 0 ? this.resync() : this.syncAll()));
    this.every(options.flushIntervalMs ?? 100, () => this.flush());
  }

  takeToken(bucket: string, rate: TokenRate): number | Promise<number> {
    return this.decide(
      'takeToken',
      () =>
        this.redis.bwTakeToken(`${this.prefix}:bucket:{${bucket}}`, String(rate.perSecond / 1000), String(rate.burst)),
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
      async () => {
        const [granted, available] = await this.budgetScript(budget, credit, settings, true);
        this.credit.learned(budget, available);
        return granted === 1;
      },
      () => this.local.withdrawRetry(budget, settings),
    );
  }

  retryCreditAvailable(budget: string, settings: RetryCreditSettings): number {
    return this.credit.available(budget, settings);
  }

  publishCircuit(space: string, key: string, record: CircuitRecord): void {
    this.local.publishCircuit(space, key, record);
    if (this.redis.status !== 'ready') {
      this.unsent.set(`${space}\n${key}`, { space, key, record });
      return;
    }
    this.sendCircuit(space, key, record).catch((error: unknown) => {
      this.status.fellBack('publishCircuit', error);
      this.unsent.set(`${space}\n${key}`, { space, key, record });
    });
  }

  watchCircuits(space: string, onChange: (key: string, record: CircuitRecord) => void): () => void {
    if (!this.spaces.has(space)) {
      this.spaces.add(space);
      this.subscribe(space);
    }
    const unwatch = this.local.watchCircuits(space, onChange);
    void this.sync(space);
    return unwatch;
  }

  countFailure(space: string, key: string, windowMs: number): number | Promise<number> {
    // Out of reach: 0, and the breaker's own count decides.
    return this.decide(
      'countFailure',
      () => this.redis.bwCountFailure(this.failuresKey(space, key), String(Math.ceil(windowMs))),
      () => 0,
    );
  }

  clearFailures(space: string, key: string): void {
    if (this.redis.status === 'ready') this.redis.del(this.failuresKey(space, key)).catch(this.status.noteError);
  }

  claimProbe(space: string, key: string, ttlMs: number): boolean | Promise<boolean> {
    return this.decide(
      'claimProbe',
      async () => (await this.redis.set(this.probeKey(space, key), '1', 'PX', Math.ceil(ttlMs), 'NX')) === 'OK',
      () => this.local.claimProbe(),
    );
  }

  /** `warn` while Redis is out of reach or a decision fell back in the last 10 s. */
  health(): StateStoreHealth {
    return this.status.report(this.redis.status === 'ready' && this.subscriber?.status !== 'end');
  }

  /**
   * Settles once the commands connection is up, has failed, or `boundMs` passed — never rejects.
   * Until the connection is up every decision is local (without an offline queue commands fail at
   * once), so a server waits for this before it serves: otherwise the first requests after each
   * start spend a budget and a limit of the replica's own. A Redis that refuses does not hold it.
   */
  whenConnected(boundMs = 2_000): Promise<void> {
    const redis = this.redis;
    if (redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => {
      const settle = (): void => {
        clearTimeout(timer);
        redis.off('ready', settle);
        redis.off('error', settle);
        resolve();
      };
      const timer = setTimeout(settle, boundMs);
      redis.once('ready', settle);
      redis.once('error', settle);
    });
  }

  /** Stops the timers and closes the subscription connection (the commands connection is yours). */
  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.redis.off('ready', this.onReady);
    this.redis.off('error', this.status.noteError);
    await this.flush();
    this.subscriber?.disconnect();
  }

  /** One bounded round trip; past `timeoutMs`, or with Redis out of reach, the local answer. */
  private decide<T>(operation: string, remote: () => Promise<T>, local: () => T): T | Promise<T> {
    const unreachable = this.redis.status === 'ready' ? undefined : `Redis is ${this.redis.status}`;
    return decide(this.status, this.timeoutMs, operation, unreachable, remote, local);
  }

  private budgetScript(budget: string, credit: number, settings: RetryCreditSettings, withdraw: boolean) {
    return this.redis.bwRetryBudget(
      `${this.prefix}:budget:{${budget}}`,
      String(credit),
      String(settings.maxBalance),
      String(settings.minPerSecond),
      withdraw ? '1' : '0',
      String(this.ttlMs),
    );
  }

  /** Sends the retry credit batched so far (it goes every `flushIntervalMs` anyway). */
  async flush(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    const batch = this.credit.drain();
    await Promise.all(
      batch.map(([budget, { amount, settings }]) =>
        this.budgetScript(budget, amount, settings, false).then(
          ([, available]) => this.credit.learned(budget, available),
          (error: unknown) => this.status.fellBack('depositRetryCredit', error),
        ),
      ),
    );
  }

  private sendCircuit(space: string, key: string, record: CircuitRecord): Promise<number> {
    const stored: Stored = {
      s: record.state,
      u: Date.now() + record.remainingMs,
      n: record.consecutiveOpens,
      by: record.by,
    };
    return this.redis.bwPublishCircuit(
      this.circuitsKey(space),
      this.probeKey(space, key),
      this.failuresKey(space, key),
      key,
      JSON.stringify(stored),
      this.circuitsKey(space),
      String(this.ttlMs),
    );
  }

  private subscribe(space: string): void {
    if (!this.subscriber) {
      // Its own queue: a SUBSCRIBE sent before the connection is up waits for it instead of failing.
      this.subscriber = this.redis.isCluster
        ? (this.redis as Cluster).duplicate(undefined, { enableOfflineQueue: true })
        : (this.redis as Redis).duplicate({ enableOfflineQueue: true });
      this.subscriber.on('error', this.status.noteError);
      // A new subscription connection may have missed messages: re-read everything.
      this.subscriber.on('ready', this.onReady);
      this.subscriber.on('message', (channel: string, message: string) => this.received(channel, message));
    }
    this.subscriber.subscribe(this.circuitsKey(space)).catch(this.status.noteError);
  }

  private received(channel: string, message: string): void {
    const space = [...this.spaces].find((s) => this.circuitsKey(s) === channel);
    const split = message.indexOf('\n');
    if (space === undefined || split < 0) return;
    this.adopt(space, message.slice(0, split), message.slice(split + 1));
  }

  /** Delivers a stored record to this process's watchers, once per distinct value. */
  private adopt(space: string, key: string, raw: string): void {
    let seen = this.seen.get(space);
    if (!seen) this.seen.set(space, (seen = new Map()));
    if (seen.get(key) === raw) return;
    seen.set(key, raw);
    const record = parseRecord(raw);
    if (!record) return;
    this.local.deliver(space, key, record);
  }

  private async sync(space: string): Promise<void> {
    if (this.redis.status !== 'ready') return;
    try {
      const all = await this.redis.hgetall(this.circuitsKey(space));
      for (const [key, raw] of Object.entries(all)) this.adopt(space, key, raw);
    } catch (error) {
      this.status.noteError(error);
    }
  }

  private syncAll(): void {
    for (const space of this.spaces) void this.sync(space);
  }

  /** Redis is back: what was decided meanwhile goes out first, then everyone's state comes in. */
  private resync(): void {
    // The subscription connection may be back before the commands connection: wait for that one.
    if (this.redis.status !== 'ready') return;
    const unsent = [...this.unsent.values()];
    this.unsent.clear();
    const sent = unsent.map((u) =>
      this.sendCircuit(u.space, u.key, u.record).catch((error: unknown) => {
        this.status.noteError(error);
        // Not lost: the next reconnection tries again (unless a newer transition replaced it).
        const id = `${u.space}\n${u.key}`;
        if (!this.unsent.has(id)) this.unsent.set(id, u);
      }),
    );
    void Promise.all(sent).then(() => this.syncAll());
  }

  private every(ms: number, run: () => unknown): void {
    const timer = setInterval(run, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private circuitsKey(space: string): string {
    return `${this.prefix}:{${space}}:circuits`;
  }

  private failuresKey(space: string, key: string): string {
    return `${this.prefix}:{${space}}:failures:${key}`;
  }

  private probeKey(space: string, key: string): string {
    return `${this.prefix}:{${space}}:probe:${key}`;
  }
}

function parseRecord(raw: string): CircuitRecord | undefined {
  try {
    const stored = JSON.parse(raw) as Stored;
    if (stored.s !== 'open' && stored.s !== 'closed' && stored.s !== 'isolated') return undefined;
    return {
      state: stored.s,
      remainingMs: stored.s === 'open' ? Math.max(0, stored.u - Date.now()) : 0,
      consecutiveOpens: Number(stored.n) || 0,
      by: String(stored.by),
    };
  } catch {
    return undefined;
  }
}

export function redisState(options: RedisStateOptions): RedisStateStore {
  return new RedisStateStore(options);
}
