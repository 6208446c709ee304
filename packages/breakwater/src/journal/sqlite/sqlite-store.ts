import type { Database, Statement } from 'better-sqlite3';
import { JoinedWriteError } from '../joined-write-error.js';
import type { JournalStore } from '../journal-store.js';
import {
  INSERT_COLUMNS,
  insertValues,
  newOperationRecord,
  passesGuard,
  transitioned,
  type NewOperationRow,
  type Operation,
  type OperationQuery,
  type OperationStatus,
  type FinishedStatus,
  type TransitionGuard,
  type TransitionPatch,
} from '../operation.js';
import {
  ADDED_COLUMNS,
  checkIdentifier,
  fromRow,
  pushPatchValues,
  ROW_COLUMNS,
  rowValues,
  schemaSql,
  shapeColumns,
  updateShape,
  type OperationRow,
} from '../sql-rows.js';
import { GroupCommit, type QueuedWrite } from './group-commit.js';
import { Checkpointer } from './checkpointer.js';
import { WalSync } from './wal-sync.js';

/**
 * A create waiting in the group commit's queue. Outcomes written meanwhile (`applyWithCreate`) are
 * applied to `row`, and the create inserts the row as it ends up; `inserted` or `error` then says
 * how the insert went, for those writes' own promises.
 */
interface QueuedCreate {
  input: NewOperationRow;
  /** The row as it will be inserted, once an outcome was merged; until then the create's own values. */
  row: Operation | undefined;
  inserted?: boolean;
  error?: unknown;
}

export interface SqliteJournalOptions {
  /** Table name. Default `breakwater_operations`. */
  table?: string;
  /**
   * `FULL` (default): a write's promise settles once its commit is on disk; group commit keeps that
   * fast. With group commit on a WAL file the fsync runs off the event loop: SQLite itself runs
   * `synchronous=NORMAL` and the store fsyncs the WAL on the thread pool before settling the batch
   * (see docs/journal.md). `NORMAL`: no fsync per commit; a power cut can lose the last commits.
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** Batch concurrent writes into one transaction. Default true. */
  groupCommit?: boolean;
  /**
   * With group commit: how long a write nobody waits on may wait to share a later commit, in ms —
   * the write that records an operation's success (without a joined write), and the create of an
   * operation whose work did not wait for it (`runOperation`'s `durableStart: false`). Under steady
   * traffic the writes of many operations then share one commit (one fsync) instead of paying one
   * each. Every such promise still settles only once its write is durable; until it commits
   * readers do not see the write, and a crash of the process loses it (an operation whose success
   * was lost is recorded abandoned once its lease expires; one whose create was lost leaves no row). Failures
   * are not deferred: a caller usually answers with them. Default 0: every write commits in the
   * turn it was made.
   */
  successCommitDelayMs?: number;
  /**
   * How long a write waits for a lock held by another connection (ms). better-sqlite3 is
   * synchronous: the wait blocks the event loop, so a server keeps it short and lets the
   * journal's degrade mode or outbox take over. Default 5,000.
   */
  busyTimeoutMs?: number;
  /**
   * When the store fsyncs the WAL itself (`FULL`, group commit, a file), a worker thread runs the
   * WAL checkpoints, at most this often (ms), so the event loop never waits for one. Default 1,000.
   */
  checkpointIntervalMs?: number;
}

/**
 * The embedded default: better-sqlite3 in WAL mode, durable commits, and group commit so durable
 * writes still reach tens of thousands per second. `join` receives the Database, inside the
 * transaction (better-sqlite3 is synchronous: the joined write must be too).
 */
export class SqliteJournalStore implements JournalStore<Database> {
  readonly name = 'sqlite';
  readonly synchronous = true;
  private readonly table: string;
  private readonly writer: GroupCommit | undefined;
  private readonly statements = new Map<string, Statement>();
  /** The SQL of each UPDATE shape (`updateShape`), built once. */
  private readonly updates = new Map<number, string>();
  private readonly insertSql: string;
  /** The insert of a whole row: a create with its outcome merged in. */
  private readonly insertRowSql: string;
  /** Creates still in the group commit's queue that an outcome may be merged into, by id. */
  private readonly queuedCreates = new Map<string, QueuedCreate>();
  private readonly byIdempotencyKeySql: string;
  /** One transaction per write, when group commit is off. */
  private readonly single: { immediate(work: () => unknown): unknown };
  /** The fsync of the WAL off the event loop, when commits must be durable and can be made so. */
  private readonly walSync: WalSync | undefined;
  /** Checkpoints on a worker thread, when the store fsyncs the WAL itself. */
  private readonly checkpointer: Checkpointer | undefined;

  constructor(
    readonly db: Database,
    options: SqliteJournalOptions = {},
  ) {
    this.table = checkIdentifier(options.table ?? 'breakwater_operations');
    this.insertSql = `INSERT INTO ${this.table} (${INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`;
    this.insertRowSql = `INSERT INTO ${this.table} (${ROW_COLUMNS}) VALUES (${ROW_COLUMNS.split(',')
      .map(() => '?')
      .join(', ')}) ON CONFLICT DO NOTHING`;
    this.byIdempotencyKeySql = `SELECT * FROM ${this.table} WHERE kind = ? AND idempotency_key = ?`;
    db.pragma('journal_mode = WAL');
    const file = fileToSync(db, options);
    this.walSync = file === undefined ? undefined : new WalSync(`${file}-wal`);
    this.checkpointer = file === undefined ? undefined : this.checkpointOffTheLoop(file, options.checkpointIntervalMs);
    // FULL's fsync, when the store does not make it itself off the event loop.
    db.pragma(`synchronous = ${options.synchronous === 'NORMAL' || this.walSync ? 'NORMAL' : 'FULL'}`);
    const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
    if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0)
      throw new TypeError(`Expected \`busyTimeoutMs\` to be an integer ≥ 0, got ${options.busyTimeoutMs}.`);
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    this.migrate();
    this.writer =
      options.groupCommit === false
        ? undefined
        : new GroupCommit(db, { deferMs: options.successCommitDelayMs ?? 0, durable: this.durable() });
    this.single = db.transaction((work: () => unknown) => work());
  }

  /** GroupCommit's `durable`: the WAL's fsync, and then perhaps a checkpoint (both off the event loop). */
  private durable(): ((done: (error: Error | null) => void) => void) | undefined {
    const walSync = this.walSync;
    if (!walSync) return undefined;
    return (done) =>
      walSync.sync((error) => {
        done(error);
        if (!error) this.checkpointer?.afterCommit();
      });
  }

  /** The store's connection stops checkpointing inside its commits; a worker does it instead. */
  private checkpointOffTheLoop(file: string, intervalMs: number | undefined): Checkpointer {
    this.db.pragma('wal_autocheckpoint = 0');
    return new Checkpointer({
      file,
      intervalMs,
      // SQLite's default back: the WAL must not grow without bound.
      onFailure: () => {
        if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
      },
      // Writes that never paused: one checkpoint here, between commits, lets the WAL restart.
      onBacklog: () => {
        if (this.db.open && !this.db.inTransaction) this.db.pragma('wal_checkpoint(PASSIVE)');
      },
    });
  }

  get batches(): number {
    return this.writer?.batches ?? 0;
  }

  private migrate(): void {
    // Pruned pages are reused by new rows, so the file stops growing; a new file can also give them
    // back to the disk with `PRAGMA incremental_vacuum` (an existing one needs a full VACUUM first).
    if (this.db.pragma('page_count', { simple: true }) === 0) this.db.pragma('auto_vacuum = INCREMENTAL');
    this.db.exec(schemaSql(this.table, 'sqlite'));
    const existing = new Set(
      (this.db.prepare(`PRAGMA table_info(${this.table})`).all() as Array<{ name: string }>).map((c) => c.name),
    );
    for (const column of ADDED_COLUMNS)
      if (!existing.has(column.name))
        this.db.exec(`ALTER TABLE ${this.table} ADD COLUMN ${column.name} ${column.sqlite}`);
  }

  /**
   * `oneStatement`: the write changes the table with a single statement (reads aside), so group
   * commit runs it without a savepoint; a transition with a joined write is two. `deferrable`: an
   * operation's success, which may wait for a shared commit (`successCommitDelayMs`).
   */
  private write<T>(work: () => T, how: QueuedWrite): Promise<T> {
    if (this.writer) return this.writer.run(work, how);
    try {
      return Promise.resolve(this.single.immediate(work) as T);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  create(input: NewOperationRow, how?: { deferrable?: boolean }): Promise<{ operation: Operation; created: boolean }> {
    const deferrable = how?.deferrable === true;
    // Only a create that may wait for a later commit waits long enough for an outcome to join it.
    const queued: QueuedCreate | undefined = deferrable && this.writer ? { input, row: undefined } : undefined;
    if (queued) this.queuedCreates.set(input.id, queued);
    const created = this.write(
      () => {
        if (!queued) return this.insert(input);
        this.forgetQueued(input.id, queued);
        try {
          const outcome = this.insert(input, queued.row);
          queued.inserted = outcome.created;
          return outcome;
        } catch (error) {
          queued.error = error;
          throw error;
        }
      },
      deferrable ? DEFERRABLE : ONE_STATEMENT,
    );
    // A batch whose commit failed never ran the write above: the entry must not outlive it.
    if (queued) created.catch(() => this.forgetQueued(input.id, queued));
    return created;
  }

  private forgetQueued(id: string, queued: QueuedCreate): void {
    if (this.queuedCreates.get(id) === queued) this.queuedCreates.delete(id);
  }

  /** Inserts the new operation (as `row`, when an outcome was merged into it), or finds the one it duplicates. */
  private insert(input: NewOperationRow, row?: Operation): { operation: Operation; created: boolean } {
    // No `RETURNING *`: the new row is known already (building a JS object of every column back
    // from SQLite was a large part of an insert's cost).
    const inserted = row
      ? this.statement(this.insertRowSql).run(...rowValues(row))
      : this.statement(this.insertSql).run(...insertValues(input));
    if (inserted.changes === 1) return { operation: newOperationRecord(input), created: true };
    const existing = this.statement(this.byIdempotencyKeySql).get(input.kind, input.idempotencyKey ?? null) as
      OperationRow | undefined;
    if (!existing) throw new Error(`Insert of operation ${input.id} conflicted but no row was found.`);
    return { operation: fromRow(existing), created: false };
  }

  applyWithCreate(
    id: string,
    guard: TransitionGuard,
    to: OperationStatus,
    patch: () => TransitionPatch,
  ): Promise<boolean> | undefined {
    const queued = this.queuedCreates.get(id);
    if (!queued) return undefined;
    const row = queued.row ?? newOperationRecord(queued.input);
    if (!passesGuard(row, guard)) return undefined;
    queued.row = transitioned(row, to, patch());
    // Queued behind the create, so it settles with the create's commit, and as the insert went.
    return this.write(
      () => {
        if (queued.error !== undefined) throw queued.error;
        return queued.inserted === true;
      },
      transitionWrite(to, undefined),
    );
  }

  transition(
    id: string,
    guard: TransitionGuard,
    to: OperationStatus,
    patch: TransitionPatch,
    join?: (tx: Database) => unknown,
  ): Promise<Operation | undefined> {
    // Queued after the create: an outcome merged into it later would overtake this write.
    this.queuedCreates.delete(id);
    const update = this.update(id, guard, to, patch, true);
    return this.write(
      () => {
        const row = this.statement(update.sql).get(...update.params) as OperationRow | undefined;
        if (row && join) this.runJoined(join);
        return row && fromRow(row);
      },
      transitionWrite(to, join),
    );
  }

  apply(
    id: string,
    guard: TransitionGuard,
    to: OperationStatus,
    patch: TransitionPatch,
    join?: (tx: Database) => unknown,
  ): Promise<boolean> {
    this.queuedCreates.delete(id);
    const update = this.update(id, guard, to, patch, false);
    return this.write(
      () => {
        const applied = this.statement(update.sql).run(...update.params).changes === 1;
        if (applied && join) this.runJoined(join);
        return applied;
      },
      transitionWrite(to, join),
    );
  }

  /** The compare-and-set UPDATE for this patch's shape (its statement is prepared once per shape). */
  private update(
    id: string,
    guard: TransitionGuard,
    to: OperationStatus,
    patch: TransitionPatch,
    returning: boolean,
  ): { sql: string; params: unknown[] } {
    const shape = updateShape(patch, guard, returning);
    let sql = this.updates.get(shape.key);
    if (sql === undefined) {
      const sets = ['status = ?', ...shapeColumns(shape.mask).map((column) => `${column} = ?`)].join(', ');
      const statuses = guard.from.map(() => '?').join(', ');
      const ownerClause = guard.leaseOwner === undefined ? '' : ' AND lease_owner = ?';
      sql = `UPDATE ${this.table} SET ${sets} WHERE id = ? AND status IN (${statuses})${ownerClause}${returning ? ' RETURNING *' : ''}`;
      this.updates.set(shape.key, sql);
    }
    const params: unknown[] = [to];
    pushPatchValues(params, patch, shape.mask);
    params.push(id, ...guard.from);
    if (guard.leaseOwner !== undefined) params.push(guard.leaseOwner);
    return { sql, params };
  }

  /** The caller's write, inside the transaction that made the transition (a throw rolls both back). */
  private runJoined(join: (tx: Database) => unknown): void {
    let outcome: unknown;
    try {
      outcome = join(this.db);
    } catch (error) {
      throw new JoinedWriteError(error);
    }
    if (typeof (outcome as PromiseLike<unknown> | undefined)?.then === 'function') {
      // better-sqlite3 is synchronous: an async joined write would land after the commit.
      throw new JoinedWriteError(
        new TypeError('A joined write on the SQLite journal must be synchronous (it returned a promise).'),
      );
    }
  }

  async get(id: string): Promise<Operation | undefined> {
    const row = this.statement(`SELECT * FROM ${this.table} WHERE id = ?`).get(id) as OperationRow | undefined;
    return row && fromRow(row);
  }

  async findByIdempotencyKey(kind: string, key: string): Promise<Operation | undefined> {
    const row = this.statement(this.byIdempotencyKeySql).get(kind, key) as OperationRow | undefined;
    return row && fromRow(row);
  }

  async query(query: OperationQuery): Promise<Operation[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, value: unknown): void => {
      where.push(clause);
      params.push(value);
    };
    if (query.status !== undefined) add('status = ?', query.status);
    if (query.kind !== undefined) add('kind = ?', query.kind);
    if (query.correlationId !== undefined) add('correlation_id = ?', query.correlationId);
    if (query.createdSince !== undefined) add('created_at >= ?', query.createdSince);
    if (query.finishedSince !== undefined) add('finished_at >= ?', query.finishedSince);
    const sql = `SELECT * FROM ${this.table}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.statement(sql).all(...params, query.limit ?? 100) as OperationRow[]).map((row) => fromRow(row));
  }

  async expiredLeases(now: number, limit: number): Promise<Operation[]> {
    const rows = this.statement(
      `SELECT * FROM ${this.table} WHERE status = 'running' AND lease_expires_at < ? ORDER BY lease_expires_at LIMIT ?`,
    ).all(now, limit) as OperationRow[];
    return rows.map((row) => fromRow(row));
  }

  async prune(status: FinishedStatus, finishedBefore: number, limit: number): Promise<number> {
    const deleted = await this.write(
      () =>
        this.statement(
          `DELETE FROM ${this.table} WHERE id IN (SELECT id FROM ${this.table} WHERE status = ? AND created_at < ? AND finished_at < ? ORDER BY created_at LIMIT ?)`,
        ).run(status, finishedBefore, finishedBefore, limit).changes,
      ONE_STATEMENT,
    );
    return deleted;
  }

  async close(): Promise<void> {
    this.writer?.flush();
    await this.writer?.idle();
    await this.checkpointer?.close();
    this.walSync?.close();
    this.db.close();
  }
}

const ONE_STATEMENT: QueuedWrite = { oneStatement: true };
/** A write nobody waits on: a success, or a create the work did not wait for (`successCommitDelayMs`). */
const DEFERRABLE: QueuedWrite = { oneStatement: true, deferrable: true };

/** A transition is one statement unless the caller joins its own; a success may wait (`successCommitDelayMs`). */
function transitionWrite(to: OperationStatus, join: unknown): QueuedWrite {
  if (join !== undefined) return {};
  return to === 'succeeded' ? DEFERRABLE : ONE_STATEMENT;
}

/** Opens (or creates) a SQLite journal file. */
export async function openSqliteJournalStore(
  path: string,
  options?: SqliteJournalOptions,
): Promise<SqliteJournalStore> {
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  return new SqliteJournalStore(new BetterSqlite3(path), options);
}

/**
 * The database file whose WAL the store syncs (and checkpoints) itself, off the event loop: when
 * commits must be durable (`FULL`), writes go through group commit, and the database is a file in WAL
 * mode (not `:memory:`).
 */
function fileToSync(db: Database, options: SqliteJournalOptions): string | undefined {
  if (options.synchronous === 'NORMAL' || options.groupCommit === false) return undefined;
  if (db.pragma('journal_mode', { simple: true }) !== 'wal') return undefined;
  const main = (db.pragma('database_list') as Array<{ name: string; file: string }>).find((d) => d.name === 'main');
  return main?.file || undefined;
}
