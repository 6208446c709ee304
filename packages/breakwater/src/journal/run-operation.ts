import { BreakwaterError, isBreakwaterError, type Origin } from '../errors/breakwater-error.js';
import { isCategory } from '../errors/categories.js';
import { Errors } from '../errors/codes.js';
import { classify } from '../classify/classify.js';
import type { Pipeline } from '../policies/pipeline.js';
import type { CallView } from '../policies/context.js';
import { Cancellation, toSignal, type CancelSource } from '../policies/cancellation.js';
import { toJson, type Journal } from './journal.js';
import { failureStatus, newOperationRecord, type NewOperation, type Operation } from './operation.js';

export interface OperationContext {
  readonly operation: Operation;
  /** Aborts when the caller aborts or this worker loses the operation's lease. Made on first read. */
  readonly signal: AbortSignal;
  /**
   * The same cancellation without making an AbortSignal: pass it as a pipeline's `signal`, or to
   * what accepts any abort EventTarget (see `CallView.abortSource`).
   */
  readonly abortSource: CancelSource;
  /** The policy context of the current attempt, when a pipeline runs the work. */
  readonly call: CallView | undefined;
  /** Output so far: kept on the row if the operation fails (e.g. a stream cut mid-way). */
  partial: unknown;
  /** Attempts made, recorded on the row; set by the `pipeline` option, or by your own policies. */
  attempts: number;
}

export interface RunOperationOptions<T, Tx> {
  idempotencyKey?: string;
  correlationId?: string;
  sessionId?: string;
  metadata?: Record<string, unknown>;
  /** Policies to run the work under (retry, breaker, timeout…); attempts are recorded. */
  pipeline?: Pipeline;
  /** Pipeline key (e.g. `openai:gpt-4o`). */
  key?: string;
  signal?: CancelSource;
  /**
   * Instead of `signal`: the caller's own controller for this call, which the operation then uses as
   * its own — `op.signal` is its signal, and a lost lease aborts it (JOURNAL_LEASE_LOST). A caller
   * that owns a controller per request already (a server) saves a second cancellation linked to the
   * first. A `Cancellation` makes no AbortSignal unless something reads `op.signal`.
   */
  controller?: AbortController | Cancellation;
  /**
   * The caller's own writes, run in the same transaction as the `succeeded` transition: if either
   * fails, neither is kept, and the operation is recorded failed.
   */
  join?: (tx: Tx, result: T) => unknown;
  /**
   * When the journal store is down: `fail-closed` (default) throws JOURNAL_UNAVAILABLE and does not
   * run the work; `degrade` runs it anyway and keeps the outcome in the journal's outbox, written by
   * the sweeper once the store is back (health says `warn` meanwhile). A call with `join` is always
   * fail-closed: its atomicity cannot be kept without the store.
   */
  onJournalUnavailable?: 'fail-closed' | 'degrade';
  /**
   * `true` (default): the work starts once the operation's running row is durable. `false`: the
   * work starts at once, and the create is written while it runs — with a store that batches
   * commits (SQLite's `successCommitDelayMs`) it shares a later commit with other operations' writes
   * instead of paying an fsync of its own before the work. The outcome is written once the create
   * has landed; if the store could not take it, the outcome goes to the outbox as in degrade mode.
   * What a crash can then lose: operations started within the commit delay leave no row at all.
   * Only with `onJournalUnavailable: 'degrade'`, without `idempotencyKey` (its create decides
   * whether the work runs at all) and without `join`.
   */
  durableStart?: boolean;
  /**
   * `true` (default): the promise settles once the outcome is recorded. `false`: it settles with the
   * work's own result (or error) as soon as the work does, and the outcome is written after that —
   * once the create has landed, with `durableStart: false`. Nothing of the work is held meanwhile:
   * a server's request objects are garbage when the answer is sent, not one or two commits later
   * (at 1,000 req/s with 20 ms commit windows that is ~40 requests' objects a young-generation GC
   * would copy). An outcome the store cannot take goes to the outbox, as in degrade mode; any other
   * failure to record it (the lease ran out and the sweeper finished the operation first) goes to
   * `onRecordError`. Only with `onJournalUnavailable: 'degrade'` and without `join`: there the record
   * can change what the caller is told.
   */
  waitForRecord?: boolean;
  /** With `waitForRecord: false`: an outcome that could not be recorded, nor kept in the outbox. */
  onRecordError?: (error: BreakwaterError) => void;
}

/**
 * Runs `fn` as a journaled operation: creates it (or, with an idempotency key, finds it), claims
 * it under a lease renewed while it runs, and records exactly one terminal outcome. A replay of a
 * finished operation returns its recorded result (or throws its recorded error) without running.
 */
export async function runOperation<T, Tx>(
  journal: Journal<Tx>,
  kind: string,
  fn: (op: OperationContext) => Promise<T> | T,
  options: RunOperationOptions<T, Tx> = {},
): Promise<T> {
  const input = {
    kind,
    idempotencyKey: options.idempotencyKey,
    correlationId: options.correlationId,
    sessionId: options.sessionId,
    metadata: options.metadata,
  };
  if (options.signal && options.controller)
    throw new TypeError('runOperation takes `signal` or `controller`, not both (the controller is the signal).');
  const degrade = options.onJournalUnavailable === 'degrade' && options.join === undefined;
  if (options.waitForRecord === false && !degrade)
    throw new TypeError("runOperation's `waitForRecord: false` needs `onJournalUnavailable: 'degrade'` and no `join`.");
  // Chosen before the write, so an outcome can be kept for this id even if the create's fate is unknown.
  const id = journal.newId();
  if (options.durableStart === false) {
    if (!degrade || options.idempotencyKey !== undefined)
      throw new TypeError(
        "runOperation's `durableStart: false` needs `onJournalUnavailable: 'degrade'`, no `join` and no `idempotencyKey`.",
      );
    return runWhileCreating({ journal, input, id, fn, options });
  }
  let started: { operation: Operation; created: boolean };
  try {
    // Created already running under our lease: one durable write instead of create + claim.
    started = await journal.createClaimed(input, id);
  } catch (error) {
    if (!degrade || !isUnavailable(error)) throw error;
    // Degrade mode with the store down: the work runs all the same; there is no row to renew a
    // lease on, and the outcome goes to the outbox.
    const unrenewed = new LeaseKeeper(journal as unknown as Journal<unknown>, id, options, false);
    const placeholder = placeholderOperation(journal, input, id);
    return runLeased(journal, placeholder, input, fn, options, unrenewed, Promise.resolve(false));
  }
  const { operation, created } = started;
  if (!created && operation.status !== 'pending') return replay<T>(operation, journal);
  // A pending operation made by `journal.create` elsewhere (same idempotency key) is claimed here.
  const claimed = created ? operation : await journal.claim(operation.id);
  if (!claimed) return replay<T>((await journal.get(operation.id)) ?? operation, journal);

  const lease = new LeaseKeeper(journal as unknown as Journal<unknown>, claimed.id, options);
  return runLeased(journal, claimed, input, fn, options, lease, undefined);
}

/** An operation whose work has not started yet, and whose row may not exist. */
interface Unstarted<T, Tx> {
  journal: Journal<Tx>;
  input: NewOperation;
  /** Chosen before the create, so an outcome can be kept for it whatever the create's fate. */
  id: string;
  fn: (op: OperationContext) => Promise<T> | T;
  options: RunOperationOptions<T, Tx>;
}

/**
 * `durableStart: false`: the work runs while its create is written. The lease is renewed only once
 * the row exists; the outcome is written after the create, or kept in the outbox if the store
 * could not take the create.
 */
function runWhileCreating<T, Tx>({ journal, input, id, fn, options }: Unstarted<T, Tx>): Promise<T> {
  const creating = journal.createClaimed(input, id, { deferrable: true }).then(
    () => true,
    (error: unknown) => {
      if (isUnavailable(error)) return false;
      throw error;
    },
  );
  const lease = new LeaseKeeper(journal as unknown as Journal<unknown>, id, options, false);
  // Its rejection handler also keeps a failed create from counting as unhandled while the work runs.
  void creating.then(
    (exists) => exists && lease.beginRenewal(),
    () => undefined,
  );
  return runLeased(journal, placeholderOperation(journal, input, id), input, fn, options, lease, creating);
}

/** How the work ended: its value, or its classified error and what it left. */
type WorkOutcome<T> =
  { ok: true; value: T; attempts: number } | { ok: false; error: BreakwaterError; attempts: number; partial: unknown };

/**
 * Runs the work under its lease and records exactly one outcome. `creating`, when the create was
 * not awaited: resolves true once the row exists, false if the store could not take it (then the
 * outcome goes to the outbox). Two steps, so that the record keeps nothing of the work (`fn` and
 * all it holds) while it waits for its commit; `waitForRecord: false` settles before the record.
 */
function runLeased<T, Tx>(
  journal: Journal<Tx>,
  operation: Operation,
  input: NewOperation,
  fn: (op: OperationContext) => Promise<T> | T,
  options: RunOperationOptions<T, Tx>,
  lease: LeaseKeeper,
  creating: Promise<boolean> | undefined,
): Promise<T> {
  const worked = workUnderLease(operation, input, fn, options, lease);
  const { id } = operation;
  const { join, onRecordError } = options;
  if (options.waitForRecord !== false)
    return worked.then(async (done) => {
      await recordOutcome(journal, id, input, done, join, creating);
      return settle(done);
    });
  return worked.then((done) => {
    recordOutcome(journal, id, input, done, undefined, creating).catch((thrown: unknown) =>
      onRecordError?.(classify(thrown, { correlationId: input.correlationId })),
    );
    return settle(done);
  });
}

/**
 * The work, under the lease. Rejects without an outcome to record only when the lease was lost
 * (someone else owns the operation now).
 */
async function workUnderLease<T, Tx>(
  operation: Operation,
  input: NewOperation,
  fn: (op: OperationContext) => Promise<T> | T,
  options: RunOperationOptions<T, Tx>,
  lease: LeaseKeeper,
): Promise<WorkOutcome<T>> {
  const context = new RunningOperation(operation, lease.source);
  try {
    if (lease.source.aborted) throw lease.source.reason;
    const value = options.pipeline
      ? await options.pipeline.execute(
          (call) => {
            context.attempts = call.attempt;
            context.call = call;
            return fn(context);
          },
          { key: options.key ?? input.kind, signal: lease.source, correlationId: options.correlationId },
        )
      : await fn(context);
    lease.stop();
    return { ok: true, value, attempts: context.attempts };
  } catch (thrown) {
    lease.stop();
    // A journal error of the work's own (an operation it ran itself) is its failure like any other.
    if (lease.lost)
      throw Errors.journalLeaseLost({ message: `Lease on ${operation.id} was lost while it ran.`, cause: thrown });
    const error = classify(thrown, { correlationId: options.correlationId });
    return { ok: false, error, attempts: context.attempts, partial: context.partial };
  }
}

function settle<T>(done: WorkOutcome<T>): T {
  if (done.ok) return done.value;
  throw done.error;
}

/**
 * Writes the outcome once the row exists, or keeps it in the outbox when the store could not take
 * the create. Rejects only when recording failed (a lease lost before the success was written, a
 * joined write that failed: then the operation is recorded failed and that is the error).
 */
async function recordOutcome<T, Tx>(
  journal: Journal<Tx>,
  id: string,
  input: NewOperation,
  done: WorkOutcome<T>,
  join: ((tx: Tx, result: T) => unknown) | undefined,
  creating: Promise<boolean> | undefined,
): Promise<void> {
  const merged = creating && recordWithCreate(journal, id, done);
  if (merged) return settleWithCreate(journal, id, input, done, merged, creating!);
  const exists = creating === undefined || (await creating);
  if (!done.ok) {
    if (exists) await recordFailure(journal, id, input, done.error, done.attempts, done.partial);
    else deferFailure(journal, id, input, done.error, done.attempts, done.partial);
  } else if (exists) await recordSuccess(journal, id, input, done.value, done.attempts, join);
  else deferSuccess(journal, id, input, done.value, done.attempts);
}

/** The outcome, written with its create while that create still waits for its commit (else undefined). */
function recordWithCreate<T, Tx>(journal: Journal<Tx>, id: string, done: WorkOutcome<T>): Promise<boolean> | undefined {
  return done.ok
    ? journal.markSucceededWithCreate(id, done.value, done.attempts)
    : journal.markFailedWithCreate(id, done.error, done.attempts, done.partial);
}

/**
 * An outcome written with its create shares the create's fate: when the store could not take the
 * create, neither landed and the outcome goes to the outbox, as it would have after a failed create.
 */
async function settleWithCreate<T, Tx>(
  journal: Journal<Tx>,
  id: string,
  input: NewOperation,
  done: WorkOutcome<T>,
  merged: Promise<boolean>,
  creating: Promise<boolean>,
): Promise<void> {
  let applied: boolean | undefined;
  try {
    applied = await merged;
  } catch (thrown) {
    if (!isUnavailable(thrown)) throw thrown;
  }
  if (applied === undefined || !(await creating)) {
    if (done.ok) deferSuccess(journal, id, input, done.value, done.attempts);
    else deferFailure(journal, id, input, done.error, done.attempts, done.partial);
    return;
  }
  if (!applied && done.ok) throw successOvertaken(id);
}

/** What the work sees of an operation whose row is not written (yet): the row it will be. */
function placeholderOperation<Tx>(journal: Journal<Tx>, input: NewOperation, id: string): Operation {
  const now = journal.now();
  // Field by field, not spread: on the gateway's path this runs for every request.
  return newOperationRecord({
    kind: input.kind,
    idempotencyKey: input.idempotencyKey,
    correlationId: input.correlationId,
    sessionId: input.sessionId,
    metadata: input.metadata,
    id,
    createdAt: now,
    claim: { owner: journal.owner, leaseExpiresAt: now + journal.leaseMs },
  });
}

/**
 * The failure is what the caller must see: a journal that cannot record it keeps the outcome in
 * the outbox instead of replacing the real error with JOURNAL_UNAVAILABLE.
 */
async function recordFailure<Tx>(
  journal: Journal<Tx>,
  id: string,
  input: NewOperation,
  error: BreakwaterError,
  attempts: number,
  partial: unknown,
): Promise<void> {
  try {
    await journal.markFailed(id, error, attempts, partial);
  } catch (thrown) {
    if (!isUnavailable(thrown)) throw thrown;
    deferFailure(journal, id, input, error, attempts, partial);
  }
}

/** Keeps a success for the outbox to write when the store is back. */
function deferSuccess<Tx>(
  journal: Journal<Tx>,
  id: string,
  input: NewOperation,
  result: unknown,
  attempts: number,
): void {
  journal.defer({ id, input, status: 'succeeded', attempts, result: toJson(result) });
}

/** Keeps a failure for the outbox to write when the store is back. */
function deferFailure<Tx>(
  journal: Journal<Tx>,
  id: string,
  input: NewOperation,
  error: BreakwaterError,
  attempts: number,
  partial: unknown,
): void {
  journal.defer({
    id,
    input,
    status: failureStatus(error),
    attempts,
    result: toJson(partial),
    error: { category: error.category, code: error.code, message: error.message, origin: error.origin },
  });
}

function isOrigin(value: string | null): value is Origin {
  return value === 'caller' || value === 'dependency' || value === 'self';
}

function isUnavailable(error: unknown): boolean {
  return isBreakwaterError(error) && error.code === 'JOURNAL_UNAVAILABLE';
}

/**
 * Records the success. The work is done (and, for an LLM call, paid for): when the store cannot
 * take the write, the outcome goes to the outbox and the result is returned all the same — a
 * journal hiccup never turns a delivered answer into a failure. Only a joined write, whose
 * atomicity needs the store, fails with it.
 */
async function recordSuccess<T, Tx>(
  journal: Journal<Tx>,
  id: string,
  input: NewOperation,
  result: T,
  attempts: number,
  join?: (tx: Tx, result: T) => unknown,
): Promise<void> {
  let done: boolean;
  try {
    // The journal stores a redacted JSON copy (one pass): no copy of our own first.
    done = await journal.markSucceeded(id, result, attempts, join && ((tx) => join(tx, result)));
  } catch (thrown) {
    if (isUnavailable(thrown) && join === undefined) return deferSuccess(journal, id, input, result, attempts);
    if (isUnavailable(thrown)) throw thrown;
    // The caller's joined write failed: its transaction rolled back, so the work did not happen.
    const error = classify(thrown);
    await recordFailure(journal, id, input, error, attempts, undefined);
    throw error;
  }
  if (!done) throw successOvertaken(id);
}

function successOvertaken(id: string): BreakwaterError {
  return Errors.journalLeaseLost({
    message: `Operation ${id} was finished by someone else (its lease expired) before its success was recorded.`,
  });
}

/** The recorded outcome of an operation that already ran (or is running elsewhere). */
function replay<T>(operation: Operation, journal: Journal): T {
  if (operation.status === 'succeeded') return operation.result as T;
  if (operation.status === 'running' || operation.status === 'pending') {
    const left =
      operation.leaseExpiresAt === null ? journal.leaseMs : Math.max(0, operation.leaseExpiresAt - journal.now());
    throw Errors.operationInProgress({
      message: `Operation ${operation.id} (${operation.kind}) is ${operation.status}.`,
      retryAfterMs: left,
      details: { operationId: operation.id },
    });
  }
  throw new BreakwaterError({
    code: operation.errorCode ?? 'INTERNAL_ERROR',
    category: isCategory(operation.errorCategory) ? operation.errorCategory : 'internal',
    // The recorded origin, so a replay renders the same status (an upstream 401 stays a 502).
    origin: isOrigin(operation.errorOrigin) ? operation.errorOrigin : 'self',
    message: operation.errorMessage ?? `Operation ${operation.id} ${operation.status}.`,
    details: { operationId: operation.id, replayed: true },
  });
}

/** Renews the lease at a third of its length; aborts the work if the lease is lost. */
class LeaseKeeper {
  private readonly controller: AbortController | Cancellation;
  /** The operation's cancellation: the caller's controller, or one of its own linked to the caller's signal. */
  readonly source: CancelSource;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Removes the link to the caller's signal; none when there is nothing to unlink. */
  private readonly unlinkCaller: (() => void) | undefined;
  lost = false;

  constructor(
    private readonly journal: Pick<Journal<unknown>, 'renew' | 'leaseMs'>,
    private readonly id: string,
    caller: { signal?: CancelSource; controller?: AbortController | Cancellation },
    /** False while the row is still being created: a renewal would find no row (`beginRenewal`). */
    renewNow = true,
  ) {
    this.controller = caller.controller ?? new Cancellation();
    this.source = this.controller instanceof Cancellation ? this.controller : this.controller.signal;
    this.unlinkCaller = caller.controller ? undefined : this.link(caller.signal);
    if (renewNow) this.beginRenewal();
  }

  /** Renews the lease from now on, at a third of its length (not after `stop`). */
  beginRenewal(): void {
    if (this.stopped || this.timer) return;
    this.timer = setInterval(() => void this.renew(), Math.max(10, Math.floor(this.journal.leaseMs / 3)));
    this.timer.unref();
  }

  /** The operation's own controller follows the caller's signal; returns the unlink. */
  private link(callerSignal: CancelSource | undefined): (() => void) | undefined {
    if (!callerSignal) return undefined;
    if (callerSignal.aborted) {
      this.controller.abort(callerSignal.reason);
      return undefined;
    }
    const onCallerAbort = (): void => this.controller.abort(callerSignal.reason);
    callerSignal.addEventListener('abort', onCallerAbort, { once: true });
    return () => callerSignal.removeEventListener('abort', onCallerAbort);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.unlinkCaller?.();
  }

  private async renew(): Promise<void> {
    try {
      if (await this.journal.renew(this.id)) return;
      this.lost = true;
      this.stop();
      this.controller.abort(Errors.journalLeaseLost({ message: `Lost the lease on ${this.id}.` }));
    } catch {
      // A failed renewal is retried at the next tick; the lease only lapses if they keep failing.
    }
  }
}

/**
 * What the work sees of its operation; `signal` is made only if the work reads it. A class, not an
 * object literal with a `signal` getter: V8 builds a literal with an accessor through the runtime,
 * ~470 ns per operation here, against next to nothing for a class instance.
 */
class RunningOperation implements OperationContext {
  call: CallView | undefined = undefined;
  partial: unknown = undefined;
  attempts = 1;

  constructor(
    readonly operation: Operation,
    readonly abortSource: CancelSource,
  ) {}

  get signal(): AbortSignal {
    return toSignal(this.abortSource);
  }
}
