import type { Database } from 'better-sqlite3';

interface Outcome {
  ok: boolean;
  value: unknown;
}

interface Pending {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Batches concurrent writes into one durable transaction: writes queued in the same turn of the
 * event loop commit together, so N concurrent transitions cost one fsync instead of N. Each write
 * runs in its own savepoint: one that throws rolls back alone and rejects alone.
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
          outcomes.push({ ok: true, value: this.inSavepoint(item.write) });
        } catch (error) {
          outcomes.push({ ok: false, value: error });
        }
      }
    });
  }

  run<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
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
