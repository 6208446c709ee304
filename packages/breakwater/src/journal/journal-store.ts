import type {
  NewOperation,
  Operation,
  OperationQuery,
  TransitionGuard,
  TransitionPatch,
  OperationStatus,
  FinishedStatus,
} from './operation.js';

/**
 * Where operations live. Every write is compare-and-set: `transition` applies only while the row
 * still has one of `guard.from` (and the lease owner, if given) and returns undefined otherwise,
 * so two workers racing to finish one operation produce exactly one terminal write.
 */
export interface JournalStore<Tx = unknown> {
  readonly name: string;
  /**
   * True when every write runs on the event loop and settles within the store's own bound (the
   * memory store; SQLite, whose driver blocks instead of waiting, and whose group commit waits at
   * most its `successCommitDelayMs`): a write deadline could never fire while such a write is
   * stuck, so the journal sets none (`writeTimeoutMs` is for stores reached over a network).
   */
  readonly synchronous?: boolean;
  /**
   * Creates the operation, or returns the existing one with the same (kind, idempotency key).
   * `deferrable`: nobody waits on this write before going on (see `runOperation`'s `durableStart`),
   * so a store that batches commits may let it wait to share a later one; its promise still settles
   * only once it is durable. A store without batching ignores it.
   */
  create(
    operation: NewOperation & { id: string; createdAt: number },
    how?: { deferrable?: boolean },
  ): Promise<{ operation: Operation; created: boolean }>;
  transition(
    id: string,
    guard: TransitionGuard,
    to: OperationStatus,
    patch: TransitionPatch,
    /** Runs inside the same transaction as the write; a throw rolls both back. */
    join?: (tx: Tx) => unknown,
  ): Promise<Operation | undefined>;
  /**
   * The same compare-and-set write as `transition`, for a caller that only needs to know whether it
   * applied: the store need not read the row back. Optional — the journal falls back to
   * `transition`. (On SQLite, `RETURNING *` and rebuilding the row were a third of a journaled
   * call's SQL cost.)
   */
  apply?(
    id: string,
    guard: TransitionGuard,
    to: OperationStatus,
    patch: TransitionPatch,
    join?: (tx: Tx) => unknown,
  ): Promise<boolean>;
  /**
   * `apply`, written as part of the operation's create when that create is still queued for a
   * shared commit (`create`'s `deferrable`): one row is inserted as it ends up, instead of a row and
   * then its update. Undefined, with nothing written, when there is no such create (it has been
   * written already, or was never made here), when the queued row does not pass `guard`, or when
   * another write of the row was queued after its create; then write with `apply` once the create
   * has landed. The promise settles with the create's commit and shares its fate: if the create
   * fails, so does this write, with the same error. `patch` is called only when the write is
   * taken. Optional: a store that writes each create at once has nothing to merge with.
   */
  applyWithCreate?(
    id: string,
    guard: TransitionGuard,
    to: OperationStatus,
    patch: () => TransitionPatch,
  ): Promise<boolean> | undefined;
  get(id: string): Promise<Operation | undefined>;
  findByIdempotencyKey(kind: string, key: string): Promise<Operation | undefined>;
  query(query: OperationQuery): Promise<Operation[]>;
  /** Running operations whose lease expired before `now`, oldest first. */
  expiredLeases(now: number, limit: number): Promise<Operation[]>;
  /**
   * Deletes at most `limit` operations in `status` that finished before `finishedBefore`, oldest
   * first; returns how many. A small batch, so writers are never blocked for long. Optional: a store
   * without it keeps everything.
   */
  prune?(status: FinishedStatus, finishedBefore: number, limit: number): Promise<number>;
  close(): Promise<void>;
}
