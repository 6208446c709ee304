import { setOwn } from '../common/set-own.js';
import { JoinedWriteError } from './joined-write-error.js';
import type { JournalStore } from './journal-store.js';
import {
  newOperationRecord,
  type NewOperationRow,
  type Operation,
  type OperationQuery,
  type OperationStatus,
  type FinishedStatus,
  type TransitionGuard,
  type TransitionPatch,
} from './operation.js';

export interface MemoryJournalOptions {
  /**
   * Most operations kept; past it the oldest *finished* ones are dropped (running ones never are).
   * Default 100,000: a process that runs for months does not grow without bound.
   */
  maxRows?: number;
}

/**
 * For tests and single-process tools: the same contract as the durable stores, nothing persisted.
 * Bounded (`maxRows`); the sweeper's lease scan looks only at running operations, and pruning by
 * age stops at the first row created after the cutoff (rows are kept in creation order).
 */
export class MemoryJournalStore implements JournalStore<undefined> {
  readonly name = 'memory';
  readonly synchronous = true;
  private readonly rows = new Map<string, Operation>();
  private readonly byKey = new Map<string, string>();
  private readonly running = new Set<string>();
  private readonly maxRows: number;

  constructor(options: MemoryJournalOptions = {}) {
    this.maxRows = options.maxRows ?? 100_000;
    if (!(this.maxRows >= 1)) throw new TypeError(`Expected \`maxRows\` ≥ 1, got ${options.maxRows}.`);
  }

  async create(input: NewOperationRow): Promise<{ operation: Operation; created: boolean }> {
    if (input.idempotencyKey !== undefined) {
      const existing = this.byKey.get(idempotencyIndex(input.kind, input.idempotencyKey));
      if (existing) return { operation: copyOf(this.rows.get(existing)!), created: false };
    }
    const operation = newOperationRecord(input);
    this.rows.set(operation.id, operation);
    if (operation.status === 'running') this.running.add(operation.id);
    if (this.rows.size > this.maxRows) this.dropOldestFinished();
    if (input.idempotencyKey !== undefined)
      this.byKey.set(idempotencyIndex(input.kind, input.idempotencyKey), operation.id);
    return { operation: copyOf(operation), created: true };
  }

  async transition(
    id: string,
    guard: TransitionGuard,
    to: OperationStatus,
    patch: TransitionPatch,
    join?: (tx: undefined) => unknown,
  ): Promise<Operation | undefined> {
    const row = await this.write(id, guard, to, patch, join);
    return row && copyOf(row);
  }

  /** The compare-and-set: the stored row after the write (not a copy), or undefined. */
  private async write(
    id: string,
    guard: TransitionGuard,
    to: OperationStatus,
    patch: TransitionPatch,
    join?: (tx: undefined) => unknown,
  ): Promise<Operation | undefined> {
    const row = this.rows.get(id);
    const matches = (): boolean =>
      row !== undefined &&
      guard.from.includes(row.status) &&
      (guard.leaseOwner === undefined || row.leaseOwner === guard.leaseOwner);
    if (!matches()) return undefined;
    if (join) {
      // The joined write runs first: if it throws, nothing is written (as a rolled-back transaction).
      try {
        await join(undefined);
      } catch (error) {
        throw new JoinedWriteError(error);
      }
      if (!matches()) return undefined;
    }
    // Check and write with no await in between: this is the compare-and-set.
    Object.assign(row!, patch, { status: to });
    if (to === 'running') this.running.add(id);
    else this.running.delete(id);
    return row;
  }

  async apply(
    id: string,
    guard: TransitionGuard,
    to: OperationStatus,
    patch: TransitionPatch,
    join?: (tx: undefined) => unknown,
  ): Promise<boolean> {
    return (await this.write(id, guard, to, patch, join)) !== undefined;
  }

  async get(id: string): Promise<Operation | undefined> {
    const row = this.rows.get(id);
    return row && copyOf(row);
  }

  async findByIdempotencyKey(kind: string, key: string): Promise<Operation | undefined> {
    const id = this.byKey.get(idempotencyIndex(kind, key));
    return id === undefined ? undefined : this.get(id);
  }

  async query(query: OperationQuery): Promise<Operation[]> {
    return [...this.rows.values()]
      .filter(
        (row) =>
          (query.status === undefined || row.status === query.status) &&
          (query.kind === undefined || row.kind === query.kind) &&
          (query.correlationId === undefined || row.correlationId === query.correlationId) &&
          (query.createdSince === undefined || row.createdAt >= query.createdSince) &&
          (query.finishedSince === undefined || (row.finishedAt !== null && row.finishedAt >= query.finishedSince)),
      )
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .slice(0, query.limit ?? 100)
      .map(copyOf);
  }

  async expiredLeases(now: number, limit: number): Promise<Operation[]> {
    return [...this.running]
      .map((id) => this.rows.get(id)!)
      .filter((row) => row.leaseExpiresAt !== null && row.leaseExpiresAt < now)
      .sort((a, b) => a.leaseExpiresAt! - b.leaseExpiresAt!)
      .slice(0, limit)
      .map(copyOf);
  }

  async prune(status: FinishedStatus, finishedBefore: number, limit: number): Promise<number> {
    let deleted = 0;
    for (const row of this.rows.values()) {
      // Rows are in creation order, and nothing finishes before it was created.
      if (row.createdAt >= finishedBefore || deleted >= limit) break;
      if (row.status === status && row.finishedAt !== null && row.finishedAt < finishedBefore) {
        this.remove(row);
        deleted++;
      }
    }
    return deleted;
  }

  private dropOldestFinished(): void {
    for (const row of this.rows.values()) {
      if (row.status === 'running' || row.status === 'pending') continue;
      this.remove(row);
      return;
    }
  }

  private remove(row: Operation): void {
    this.rows.delete(row.id);
    this.running.delete(row.id);
    if (row.idempotencyKey !== null) this.byKey.delete(idempotencyIndex(row.kind, row.idempotencyKey));
  }

  async close(): Promise<void> {}
}

function idempotencyIndex(kind: string, key: string): string {
  return `${kind}\u0000${key}`;
}

/**
 * A copy the caller may change without changing the store. Rows are flat but for `metadata` and
 * `result`, which are JSON (the journal stores them as the durable stores would): copied by hand,
 * several times cheaper than `structuredClone` for the small objects a row holds. Anything that is
 * not a plain object or array still goes through `structuredClone`.
 */
function copyOf(row: Operation): Operation {
  return { ...row, metadata: copyValue(row.metadata) as Operation['metadata'], result: copyValue(row.result) };
}

function copyValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyValue);
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return structuredClone(value);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) setOwn(copy, key, copyValue((value as Record<string, unknown>)[key]));
  return copy;
}
