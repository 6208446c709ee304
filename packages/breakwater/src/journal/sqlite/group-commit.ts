import type { Database } from 'better-sqlite3';

interface Outcome {
  ok: boolean;
  value: unknown;
}

/** A committed batch and how each of its writes went, waiting to be made durable. */
interface Committed {
  batch: Pending[];
  outcomes: Outcome[];
}

interface Pending {
  write: () => unknown;
  /** One statement, atomic by itself: needs no savepoint. */
  oneStatement: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  /** Writes per transaction at most; a full queue commits at once. Default 2,000. */
  maxBatch?: number;
  /**
   * How long a deferrable write (see `run`) may wait for a commit (ms). It commits with the next
   * batch that an ordinary write starts, or when this runs out, whichever is first. Default 0:
   * deferrable writes are treated like any other.
   */
  deferMs?: number;
  /**
   * Makes what was committed durable (an fsync off the event loop), calling `done` once it is. A
   * batch's promises settle only after that. One call at a time, in commit order: batches committed
   * while one runs share the next call, so a slow disk costs fewer syncs, not a longer queue of them.
   */
  durable?: (done: (error: Error | null) => void) => void;
  /**
   * How long a committed batch may wait for `durable` (ms). Past it, its writes reject — a disk that
   * stopped answering fails the journal's writes instead of leaving them pending. Default 5,000.
   */
  durableTimeoutMs?: number;
}

export interface QueuedWrite {
  /** The write runs a single statement, so it needs no savepoint to roll back alone (see the class). */
  oneStatement?: boolean;
  /** The write may wait up to `deferMs` to share a later commit (its promise settles after that commit). */
  deferrable?: boolean;
}

/**
 * Batches concurrent writes into one durable transaction: writes queued in the same turn of the
 * event loop commit together, so N concurrent transitions cost one fsync instead of N. A write that
 * throws rolls back alone and rejects alone: a single statement is atomic by itself in SQLite (a
 * failing one is backed out, the transaction goes on), so a write its caller marks as one statement
 * runs as it is; any other runs in a savepoint of its own (a savepoint per write cost ~10% of a
 * journaled operation's CPU, and most journal writes are one statement).
 *
 * Under steady traffic requests arrive one by one, not in the same turn, and every write would pay
 * its own fsync (measured: ~200 µs of CPU per request at 1,000 req/s). A write nobody waits on can
 * be marked deferrable: it rides along with the next ordinary write's commit instead.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  /** A commit is due in this turn of the event loop. */
  private soon = false;
  /** A commit is due when the oldest deferrable write's wait runs out. */
  private deadline: ReturnType<typeof setTimeout> | undefined;
  batches = 0;
  /** Made once: better-sqlite3's transaction() wrapper is costly to create per write. */
  private readonly commitBatch: { immediate(batch: Pending[], outcomes: Outcome[]): void };
  private readonly inSavepoint: (write: () => unknown) => unknown;
  private readonly maxBatch: number;
  private readonly deferMs: number;
  private readonly durable: GroupCommitOptions['durable'];
  /** Committed batches the running `durable` call does not cover; the next call will. */
  private committed: Committed[] = [];
  /** The batches the running `durable` call covers (emptied if they time out first). */
  private inSync: Committed[] = [];
  private syncing = false;
  private readonly durableTimeoutMs: number;
  /** Armed while a committed batch waits to be made durable. */
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(db: Database, options: GroupCommitOptions = {}) {
    this.maxBatch = options.maxBatch ?? 2_000;
    this.deferMs = options.deferMs ?? 0;
    this.durable = options.durable;
    this.durableTimeoutMs = options.durableTimeoutMs ?? 5_000;
    if (!(this.durableTimeoutMs > 0))
      throw new TypeError(`Expected \`durableTimeoutMs\` to be a number > 0, got ${options.durableTimeoutMs}.`);
    if (!Number.isFinite(this.deferMs) || this.deferMs < 0)
      throw new TypeError(`Expected \`deferMs\` to be a number ≥ 0, got ${options.deferMs}.`);
    // Called inside the batch transaction, a better-sqlite3 transaction function runs as a savepoint.
    this.inSavepoint = db.transaction((write: () => unknown) => write());
    this.commitBatch = db.transaction((batch: Pending[], outcomes: Outcome[]) => {
      for (const item of batch) {
        try {
          outcomes.push({ ok: true, value: item.oneStatement ? item.write() : this.inSavepoint(item.write) });
        } catch (error) {
          outcomes.push({ ok: false, value: error });
          // Some errors (a full disk, an I/O error) roll the whole transaction back: the batch is
          // lost, and the writes left must not run outside it (each would commit on its own).
          if (!db.inTransaction) throw error;
        }
      }
    });
  }

  /** Queues `write` for a coming commit; the promise settles with the write's own outcome after it. */
  run<T>(write: () => T, how: QueuedWrite = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const oneStatement = how.oneStatement === true;
      this.queue.push({ write, oneStatement, resolve: resolve as (value: unknown) => void, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (how.deferrable === true && this.deferMs > 0) this.commitWithin(this.deferMs);
      else this.commitSoon();
    });
  }

  private commitSoon(): void {
    if (this.soon) return;
    this.soon = true;
    setImmediate(() => this.flush());
  }

  private commitWithin(ms: number): void {
    if (this.soon || this.deadline) return;
    this.deadline = setTimeout(() => this.flush(), ms);
  }

  /** Commits everything queued so far, deferrable writes included. */
  flush(): void {
    this.soon = false;
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = undefined;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const outcomes: Outcome[] = [];
    try {
      this.commitBatch.immediate(batch, outcomes);
      this.batches++;
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing in the batch was written.
      for (const item of batch) item.reject(error);
      return;
    }
    if (!this.durable) return settle({ batch, outcomes }, null);
    this.committed.push({ batch, outcomes });
    if (!this.watchdog) this.armWatchdog();
    if (!this.syncing) this.sync();
  }

  /** Resolves once no committed batch waits to be made durable. */
  idle(): Promise<void> {
    if (this.unsettled() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private unsettled(): number {
    return this.inSync.length + this.committed.length;
  }

  private sync(): void {
    this.inSync = this.committed;
    this.committed = [];
    this.syncing = true;
    this.durable!((error) => {
      const covered = this.inSync;
      this.inSync = [];
      this.syncing = false;
      for (const committed of covered) settle(committed, error);
      if (this.committed.length === 0) return this.quiet();
      // What waits now was committed during the sync that just ended: its wait starts afresh.
      this.armWatchdog();
      this.sync();
    });
  }

  private armWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.timedOut(), this.durableTimeoutMs);
    this.watchdog.unref();
  }

  /** The disk has not answered in time: every batch waiting on it fails (the sync may still end). */
  private timedOut(): void {
    this.watchdog = undefined;
    const stuck = [...this.inSync, ...this.committed];
    this.inSync = [];
    this.committed = [];
    const error = new Error(`The journal's fsync did not finish within ${this.durableTimeoutMs} ms.`);
    for (const committed of stuck) settle(committed, error);
    this.quiet();
  }

  /** Nothing waits any more: no watchdog, and `idle()` resolves. */
  private quiet(): void {
    if (this.unsettled() > 0) return;
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = undefined;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** Settles each write of a committed batch as it went, or all with `error` when it is not durable. */
function settle({ batch, outcomes }: Committed, error: Error | null): void {
  batch.forEach((item, i) => {
    const outcome = outcomes[i]!;
    if (error) item.reject(error);
    else if (outcome.ok) item.resolve(outcome.value);
    else item.reject(outcome.value);
  });
}
