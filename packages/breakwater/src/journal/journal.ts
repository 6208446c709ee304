import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { classify } from '../classify/classify.js';
import { isBreakwaterError, type BreakwaterError } from '../errors/breakwater-error.js';
import { Errors } from '../errors/codes.js';
import { redact as defaultRedactor, type Redactor } from '../redact/redactor.js';
import { uuidv7 } from '../common/uuidv7.js';
import { currentCorrelationId } from '../correlation/correlation.js';
import { JoinedWriteError } from './joined-write-error.js';
import type { JournalStore } from './journal-store.js';
import {
  ALLOWED_TRANSITIONS,
  failureStatus,
  type NewOperation,
  type NewOperationRow,
  type Operation,
  type OperationQuery,
  type OperationStatus,
  type FinishedStatus,
  type TransitionGuard,
  type TransitionPatch,
} from './operation.js';

export interface JournalOptions<Tx = unknown> {
  store: JournalStore<Tx>;
  /** Lease length (ms); a running operation not renewed within it is abandoned. Default 30,000. */
  leaseMs?: number;
  /** This worker's name in lease rows. Default host:pid:random. */
  owner?: string;
  /** Wall-clock milliseconds (rows are compared across processes). Default Date.now. */
  now?: () => number;
  redactor?: Redactor;
  /**
   * Longest wait for one store call (ms); past it the call fails as JOURNAL_UNAVAILABLE, so a
   * stalled store (a locked table, a hung connection) cannot hold a request past its budget.
   * Default 5,000. Not applied to a `synchronous` store (memory, SQLite): its writes never wait on
   * a pending promise (SQLite's lock wait is its `busyTimeoutMs`).
   */
  writeTimeoutMs?: number;
  /**
   * How long finished operations are kept, per status (ms); the sweeper deletes older ones in small
   * batches. Unset: kept forever. E.g. `{ succeeded: 86_400_000, failed: 14 * 86_400_000, cancelled: 14 * 86_400_000 }`.
   */
  retention?: Partial<Record<FinishedStatus, number>>;
}

export interface JournalHealth {
  /** `fail`: the store's last answer was a failure; `warn`: outcomes are waiting in the outbox. */
  status: 'pass' | 'warn' | 'fail';
  store: string;
  lastError?: { code: string; category: string; at: number };
  /** Outcomes recorded while the store was down (degrade mode), not yet written. */
  deferred: number;
  /** Deferred outcomes dropped because the outbox was full. */
  dropped: number;
}

/** An outcome that could not be written when it happened (degrade mode). */
export interface DeferredOutcome {
  /** The operation's id: its row may exist (only the terminal write failed) or not yet. */
  id?: string;
  input: NewOperation;
  status: 'succeeded' | 'failed' | 'cancelled';
  attempts: number;
  result: unknown;
  error?: { category: string; code: string; message: string; origin?: string };
}

const OUTBOX_LIMIT = 10_000;
/** An id no operation has (UUIDv7 at time 0): the target of `ping()`'s no-op write. */
const PING_ID = '00000000-0000-7000-8000-000000000000';

/**
 * The operations journal: every transition compare-and-set through the store, terminal states
 * final, illegal transitions refused, error messages redacted before they are written, leases for
 * running work and a sweeper for leases that expired.
 */
export class Journal<Tx = unknown> {
  readonly store: JournalStore<Tx>;
  readonly leaseMs: number;
  readonly owner: string;
  readonly now: () => number;
  readonly writeTimeoutMs: number;
  readonly retention: Partial<Record<FinishedStatus, number>>;
  private readonly redactor: Redactor;
  private lastError: JournalHealth['lastError'];
  /** Health is `fail` only while the store's latest answer was a failure (not for a minute after). */
  private latestFailed = false;
  private readonly outbox: DeferredOutcome[] = [];
  /** Ids with an outcome in the outbox: the sweeper must not mark them abandoned meanwhile. */
  private readonly deferredIds = new Set<string>();
  private dropped = 0;

  constructor(options: JournalOptions<Tx>) {
    this.store = options.store;
    this.leaseMs = options.leaseMs ?? 30_000;
    if (!(this.leaseMs > 0))
      throw new TypeError(`Expected \`leaseMs\` to be a positive number, got ${options.leaseMs}.`);
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.now = options.now ?? Date.now;
    this.redactor = options.redactor ?? defaultRedactor;
    this.writeTimeoutMs = options.writeTimeoutMs ?? 5_000;
    this.retention = options.retention ?? {};
    for (const [status, ms] of Object.entries(this.retention))
      if (!(ms > 0)) throw new TypeError(`Expected \`retention.${status}\` to be a positive number of ms, got ${ms}.`);
    if (!(this.writeTimeoutMs > 0))
      throw new TypeError(`Expected \`writeTimeoutMs\` to be a positive number, got ${options.writeTimeoutMs}.`);
  }

  /** A new operation id (UUIDv7: sortable by creation time). */
  newId(): string {
    return uuidv7(this.now());
  }

  /**
   * Creates an operation, or returns the existing one with the same kind and idempotency key.
   * `id` may be chosen beforehand (`newId()`), so an outcome can be deferred before the row is known to exist.
   */
  create(input: NewOperation, id?: string): Promise<{ operation: Operation; created: boolean }> {
    return this.insert(input, false, id);
  }

  /**
   * Creates the operation already running under this worker's lease — one durable write instead
   * of create + claim. An existing operation (same idempotency key) is returned untouched.
   * `deferrable`: nobody waits on the write before going on, so it may share a later commit (see
   * `JournalStore.create`).
   */
  createClaimed(
    input: NewOperation,
    id?: string,
    how?: { deferrable?: boolean },
  ): Promise<{ operation: Operation; created: boolean }> {
    return this.insert(input, true, id, how);
  }

  private insert(
    input: NewOperation,
    claimed: boolean,
    id?: string,
    how?: { deferrable?: boolean },
  ): Promise<{ operation: Operation; created: boolean }> {
    if (typeof input.kind !== 'string' || input.kind.length === 0) {
      throw new TypeError('Expected `kind` to be a non-empty string.');
    }
    const now = this.now();
    // Field by field, not spread: this runs for every request, and a literal of this shape is
    // several times cheaper to build than one made of conditional spreads.
    const row: NewOperationRow = {
      kind: input.kind,
      idempotencyKey: input.idempotencyKey,
      correlationId: input.correlationId ?? currentCorrelationId(),
      sessionId: input.sessionId,
      // Metadata is stored as given, but never a secret in it.
      metadata:
        input.metadata === undefined ? undefined : (this.redactor.value(input.metadata) as Record<string, unknown>),
      id: id ?? uuidv7(now),
      createdAt: now,
      claim: claimed ? { owner: this.owner, leaseExpiresAt: now + this.leaseMs } : undefined,
    };
    return this.guarded(() => this.store.create(row, how));
  }

  /** pending → running under this worker's lease. Undefined when someone else got there first. */
  claim(id: string): Promise<Operation | undefined> {
    const now = this.now();
    return this.transition(id, { from: ['pending'] }, 'running', {
      attempts: 1,
      startedAt: now,
      leaseOwner: this.owner,
      leaseExpiresAt: now + this.leaseMs,
    });
  }

  /** Extends this worker's lease; false when the lease is no longer ours. */
  renew(id: string): Promise<boolean> {
    return this.applyTransition(id, { from: ['running'], leaseOwner: this.owner }, 'running', {
      leaseExpiresAt: this.now() + this.leaseMs,
    });
  }

  /** running → succeeded, with `join` in the same transaction (a throw rolls both back). */
  succeed(id: string, result: unknown, attempts: number, join?: (tx: Tx) => unknown): Promise<Operation | undefined> {
    return this.transition(id, ownedBy(this.owner), 'succeeded', this.successPatch(result, attempts), join);
  }

  /**
   * `succeed`, answering only whether the write applied (false: the lease was no longer ours). The
   * store does not read the row back — what `runOperation` uses on every call.
   */
  markSucceeded(id: string, result: unknown, attempts: number, join?: (tx: Tx) => unknown): Promise<boolean> {
    return this.applyTransition(id, ownedBy(this.owner), 'succeeded', this.successPatch(result, attempts), join);
  }

  /** running → failed (or cancelled, for a cancellation), with the redacted error and any partial output. */
  fail(id: string, error: BreakwaterError, attempts: number, partial?: unknown): Promise<Operation | undefined> {
    return this.transition(id, ownedBy(this.owner), failureStatus(error), this.failurePatch(error, attempts, partial));
  }

  /** `fail`, answering only whether the write applied (the row is not read back). */
  markFailed(id: string, error: BreakwaterError, attempts: number, partial?: unknown): Promise<boolean> {
    return this.applyTransition(
      id,
      ownedBy(this.owner),
      failureStatus(error),
      this.failurePatch(error, attempts, partial),
    );
  }

  /**
   * `markSucceeded`, written as part of the operation's create while that create still waits for a
   * shared commit (`JournalStore.applyWithCreate`): one row inserted as it ends up, instead of a
   * row and its update. Undefined, with nothing written, when it cannot be: write it with
   * `markSucceeded` once the create has landed. It shares the create's fate.
   */
  markSucceededWithCreate(id: string, result: unknown, attempts: number): Promise<boolean> | undefined {
    return this.applyWithCreate(id, 'succeeded', () => this.successPatch(result, attempts));
  }

  /** `markFailed`, written with the operation's create as `markSucceededWithCreate` is. */
  markFailedWithCreate(
    id: string,
    error: BreakwaterError,
    attempts: number,
    partial?: unknown,
  ): Promise<boolean> | undefined {
    return this.applyWithCreate(id, failureStatus(error), () => this.failurePatch(error, attempts, partial));
  }

  private applyWithCreate(id: string, to: OperationStatus, patch: () => TransitionPatch): Promise<boolean> | undefined {
    const store = this.store;
    if (!store.applyWithCreate) return undefined;
    const pending = started(() => store.applyWithCreate!(id, ownedBy(this.owner), to, patch));
    return pending && this.settled(pending, false);
  }

  private successPatch(result: unknown, attempts: number): TransitionPatch {
    return { result: this.stored(result), attempts, finishedAt: this.now(), leaseOwner: null, leaseExpiresAt: null };
  }

  private failurePatch(error: BreakwaterError, attempts: number, partial: unknown): TransitionPatch {
    return {
      attempts,
      errorCategory: error.category,
      errorCode: error.code,
      errorMessage: this.redactor.string(error.message),
      errorOrigin: error.origin,
      result: this.stored(partial),
      finishedAt: this.now(),
      leaseOwner: null,
      leaseExpiresAt: null,
    };
  }

  /** Cancels an operation that has not finished (pending, or running under any lease). */
  cancel(id: string, reason = 'Cancelled'): Promise<Operation | undefined> {
    return this.transition(id, { from: ['pending', 'running'] }, 'cancelled', {
      errorCategory: 'cancelled',
      errorCode: Errors.cancelled.code,
      errorMessage: this.redactor.string(reason),
      errorOrigin: 'caller',
      finishedAt: this.now(),
      leaseOwner: null,
      leaseExpiresAt: null,
    });
  }

  /**
   * Compare-and-set transition. Refuses (throws) a transition the state machine does not allow;
   * returns undefined when the row no longer matches the guard (someone else won the race).
   */
  transition(
    id: string,
    guard: TransitionGuard,
    to: OperationStatus,
    patch: TransitionPatch,
    join?: (tx: Tx) => unknown,
  ): Promise<Operation | undefined> {
    return (
      refuseIllegal(id, guard, to) ??
      this.guarded(() => this.store.transition(id, guard, to, patch, join), join !== undefined)
    );
  }

  /**
   * `transition`, answering only whether it applied: the store need not read the row back
   * (`JournalStore.apply`; a store without it is asked for the row, and the answer is whether it came).
   */
  applyTransition(
    id: string,
    guard: TransitionGuard,
    to: OperationStatus,
    patch: TransitionPatch,
    join?: (tx: Tx) => unknown,
  ): Promise<boolean> {
    const store = this.store;
    const write = store.apply
      ? () => store.apply!(id, guard, to, patch, join)
      : () => store.transition(id, guard, to, patch, join).then((row) => row !== undefined);
    return refuseIllegal(id, guard, to) ?? this.guarded(write, join !== undefined);
  }

  get(id: string): Promise<Operation | undefined> {
    return this.guarded(() => this.store.get(id));
  }

  query(query: OperationQuery = {}): Promise<Operation[]> {
    return this.guarded(() => this.store.query(query));
  }

  /** Operations that failed in the last `minutes`. */
  recentFailures(minutes: number, limit = 100): Promise<Operation[]> {
    return this.query({ status: 'failed', finishedSince: this.now() - minutes * 60_000, limit });
  }

  /**
   * Turns running operations whose lease expired into `failed` with OPERATION_ABANDONED. Each is
   * compare-and-set on the lease it saw, so a worker that renewed in between keeps its operation.
   */
  async sweep(limit = 1000): Promise<number> {
    const now = this.now();
    const expired = await this.guarded(() => this.store.expiredLeases(now, limit));
    let swept = 0;
    for (const row of expired) {
      // Its outcome is known and waiting in the outbox (the terminal write failed): not abandoned.
      if (this.deferredIds.has(row.id)) continue;
      const error = Errors.operationAbandoned({
        message: `Lease of ${row.leaseOwner ?? 'unknown'} expired at ${new Date(row.leaseExpiresAt ?? now).toISOString()}.`,
      });
      const done = await this.applyTransition(
        row.id,
        { from: ['running'], leaseOwner: row.leaseOwner ?? '' },
        'failed',
        {
          errorCategory: error.category,
          errorCode: error.code,
          errorMessage: error.message,
          errorOrigin: error.origin,
          finishedAt: now,
          leaseOwner: null,
          leaseExpiresAt: null,
        },
      );
      if (done) swept++;
    }
    return swept;
  }

  /**
   * Deletes finished operations older than their status's retention, in batches of `batch`, at most
   * `maxBatches` per status per call (so a backlog is worked off over several sweeps, never in one
   * long write). Returns how many were deleted.
   */
  async prune(batch = 500, maxBatches = 20): Promise<number> {
    const prune = this.store.prune?.bind(this.store);
    if (!prune) return 0;
    let deleted = 0;
    for (const [status, ttl] of Object.entries(this.retention) as Array<[FinishedStatus, number]>) {
      const before = this.now() - ttl;
      for (let i = 0; i < maxBatches; i++) {
        const n = await this.guarded(() => prune(status, before, batch));
        deleted += n;
        if (n < batch) break;
      }
    }
    return deleted;
  }

  /** Sweeps now and then every `intervalMs` (an unref'd timer). Returns a function that stops it. */
  startSweeper(
    intervalMs = Math.max(1_000, Math.floor(this.leaseMs / 2)),
    onError?: (error: BreakwaterError) => void,
  ): () => void {
    const tick = (): void => {
      this.flushOutbox()
        .then(() => this.sweep())
        .then(() => this.prune())
        .catch((error: unknown) => onError?.(classify(error)));
    };
    tick();
    const timer = setInterval(tick, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  health(): JournalHealth {
    const failing = this.latestFailed;
    return {
      status: failing ? 'fail' : this.outbox.length > 0 ? 'warn' : 'pass',
      store: this.store.name,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      deferred: this.outbox.length,
      dropped: this.dropped,
    };
  }

  /**
   * A readiness probe that also refreshes `health()`: a write that matches no row, so it proves
   * the store takes writes (a read can pass while a lock or a full disk stops every write).
   */
  async ping(): Promise<void> {
    await this.applyTransition(PING_ID, { from: ['running'] }, 'running', {});
  }

  /**
   * Keeps an outcome that could not be written (the store was down, or a terminal write failed)
   * to write later. Bounded: past 10,000 waiting outcomes the oldest are dropped and counted.
   */
  defer(outcome: DeferredOutcome): void {
    this.outbox.push({
      ...outcome,
      ...(outcome.error ? { error: { ...outcome.error, message: this.redactor.string(outcome.error.message) } } : {}),
    });
    if (outcome.id !== undefined) this.deferredIds.add(outcome.id);
    if (this.outbox.length > OUTBOX_LIMIT) {
      const dropped = this.outbox.shift()!;
      if (dropped.id !== undefined) this.deferredIds.delete(dropped.id);
      this.dropped++;
    }
  }

  /** Writes deferred outcomes; stops at the first store failure. Returns how many were written. */
  async flushOutbox(): Promise<number> {
    let written = 0;
    while (this.outbox.length > 0) {
      const outcome = this.outbox[0]!;
      try {
        await this.writeDeferred(outcome);
      } catch {
        break;
      }
      this.outbox.shift();
      if (outcome.id !== undefined) this.deferredIds.delete(outcome.id);
      written++;
    }
    return written;
  }

  private async writeDeferred(outcome: DeferredOutcome): Promise<void> {
    // The row may exist (its create landed, only later writes failed) or not: look before creating.
    const existing = outcome.id === undefined ? undefined : await this.get(outcome.id);
    const id = existing?.id ?? (await this.create(outcome.input, outcome.id)).operation.id;
    const row = existing ?? (await this.get(id));
    if (!row || row.status === 'succeeded' || row.status === 'failed' || row.status === 'cancelled') return;
    const now = this.now();
    if (row.status === 'pending')
      await this.applyTransition(id, { from: ['pending'] }, 'running', {
        startedAt: now,
        leaseOwner: this.owner,
        leaseExpiresAt: now + this.leaseMs,
      });
    await this.applyTransition(id, { from: ['running'] }, outcome.status, {
      attempts: outcome.attempts,
      result: this.stored(outcome.result),
      errorCategory: outcome.error?.category ?? null,
      errorCode: outcome.error?.code ?? null,
      errorMessage: outcome.error?.message ?? null,
      errorOrigin: outcome.error?.origin ?? null,
      finishedAt: now,
      leaseOwner: null,
      leaseExpiresAt: null,
    });
  }

  close(): Promise<void> {
    return this.store.close();
  }

  /** What is written of a result or a partial output: a JSON copy with every secret redacted. */
  private stored(value: unknown): unknown {
    if (value === undefined || value === null) return null;
    return this.redactor.json ? this.redactor.json(value) : this.redactor.value(toJson(value));
  }

  /**
   * Store failures are classified like any dependency's and reported as JOURNAL_UNAVAILABLE; an
   * error thrown by a joined write is the caller's and passes through as it is.
   */
  private guarded<T>(write: () => Promise<T>, hasJoin = false): Promise<T> {
    const pending = started(write);
    // Awaited in a frame of its own: a write that waits for a shared commit (up to
    // successCommitDelayMs) does not keep the thunk, and the patch it closes over, alive meanwhile.
    return this.settled(pending, hasJoin);
  }

  private async settled<T>(pending: Promise<T>, hasJoin: boolean): Promise<T> {
    try {
      // A synchronous store's write cannot be stuck behind a pending promise: no timer per write.
      const result = await (this.store.synchronous
        ? pending
        : withDeadline(pending, this.writeTimeoutMs, this.store.name));
      this.latestFailed = false;
      return result;
    } catch (thrown) {
      if (hasJoin && isJoinError(thrown)) throw (thrown as { cause: unknown }).cause;
      if (isBreakwaterError(thrown) && thrown.code.startsWith('JOURNAL_')) throw thrown;
      const cause = classify(thrown, { dependency: `journal:${this.store.name}` });
      this.lastError = { code: cause.code, category: cause.category, at: this.now() };
      this.latestFailed = true;
      throw Errors.journalUnavailable({
        message: `Journal store ${this.store.name} failed: ${cause.message}`,
        cause,
        dependency: `journal:${this.store.name}`,
      });
    }
  }
}

/** The store call's promise; a store method that throws instead of rejecting rejects it all the same. */
function started<T>(write: () => Promise<T>): Promise<T>;
function started<T>(write: () => Promise<T> | undefined): Promise<T> | undefined;
function started<T>(write: () => Promise<T> | undefined): Promise<T> | undefined {
  try {
    return write();
  } catch (thrown) {
    return Promise.reject(thrown);
  }
}

/** The guard of a running operation's own writes: still running, still under this worker's lease. */
function ownedBy(owner: string): TransitionGuard {
  return { from: ['running'], leaseOwner: owner };
}

/** A rejection for a transition the state machine does not allow, else undefined. */
function refuseIllegal(id: string, guard: TransitionGuard, to: OperationStatus): Promise<never> | undefined {
  const illegal = guard.from.filter((from) => !ALLOWED_TRANSITIONS[from].includes(to));
  if (illegal.length === 0) return undefined;
  return Promise.reject(
    Errors.journalIllegalTransition({
      message: `Illegal transition ${illegal.join('|')} → ${to} for operation ${id}.`,
      details: { id, from: illegal, to },
    }),
  );
}

/** The store call, or a timeout error once `ms` have passed (the call itself may still land later). */
function withDeadline<T>(work: Promise<T>, ms: number, store: string): Promise<T> {
  // Two promises per write, not a race of three (this runs twice for every journaled request).
  return new Promise<T>((resolve, reject) => {
    // Left ref'd: it belongs to a call being awaited, lives at most `ms` and is cleared when the call settles.
    const timer = setTimeout(
      () =>
        reject(
          Object.assign(new Error(`The ${store} journal store did not answer within ${ms} ms.`), { code: 'ETIMEDOUT' }),
        ),
      ms,
    );
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function isJoinError(value: unknown): boolean {
  return value instanceof JoinedWriteError;
}

/** A JSON copy of a value; null when it cannot be serialised. */
export function toJson(value: unknown): unknown {
  if (value === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(value)) as unknown;
  } catch {
    return null;
  }
}
