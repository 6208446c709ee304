import type { Database } from 'better-sqlite3';

interface Outcome {
  ok: boolean;
  value: unknown;
}

interface Pending {
  write: () => unknown;
  /** One statement, atomic by itself: needs no savepoint. */
  oneStatement: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Batches concurrent writes into one durable transaction: writes queued in the same turn of the
 * event loop commit together, so N concurrent transitions cost one fsync instead of N. A write that
 * throws rolls back alone and rejects alone: a single statement is atomic by itself in SQLite (a
 * failing one is backed out, the transaction goes on), so a write its caller marks as one statement
 * runs as it is; any other runs in a savepoint of its own (a savepoint per write cost ~10% of a
 * journaled operation's CPU, and most journal writes are one statement).
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  batches = 0;
  /** Made once: better-sqlite3's transaction() wrapper is costly to create per write. */
  private readonly commitBatch: { immediate(batch: Pending[], outcomes: Outcome[]): void };
  private readonly inSavepoint: (write: () => unknown) => unknown;

  constructor(
    db: Database,
    private readonly maxBatch = 2_000,
  ) {
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

  /**
   * Queues `write` for the next commit. `oneStatement`: the write runs a single statement, so it
   * needs no savepoint to roll back alone (see the class); leave it false for anything else.
   */
  run<T>(write: () => T, oneStatement = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, oneStatement, resolve: resolve as (value: unknown) => void, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued so far. */
  flush(): void {
    this.scheduled = false;
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
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.value);
    });
  }
}
