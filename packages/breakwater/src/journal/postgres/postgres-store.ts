import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import { JoinedWriteError } from '../joined-write-error.js';
import type { JournalStore } from '../journal-store.js';
import {
  INSERT_COLUMNS,
  insertValues,
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
  schemaSql,
  shapeColumns,
  updateShape,
  type OperationRow,
} from '../sql-rows.js';

/** pg parses jsonb columns itself. */
const fromPg = (row: OperationRow): Operation => fromRow(row, false);

export interface PostgresJournalOptions {
  /** Table name. Default `breakwater_operations`. */
  table?: string;
  /**
   * Told about errors of idle pooled connections (a terminated backend, a restart). The store
   * always listens — without a listener pg's pool re-emits them as an uncaught 'error' and the
   * process dies — and the pool replaces the lost connection by itself.
   */
  onPoolError?: (error: Error) => void;
}

const ignore = (): void => {};

/**
 * The journal for several instances: the same compare-and-set semantics on Postgres. `join`
 * receives the transaction's PoolClient, so the caller's writes commit or roll back with the
 * operation's terminal state. Call `migrate()` once at start-up.
 */
export class PostgresJournalStore implements JournalStore<PoolClient> {
  readonly name = 'postgres';
  private readonly table: string;
  /** The SQL of each UPDATE shape (`updateShape`), built once. */
  private readonly updates = new Map<number, string>();

  constructor(
    readonly pool: Pool,
    options: PostgresJournalOptions = {},
  ) {
    this.table = checkIdentifier(options.table ?? 'breakwater_operations');
    pool.on('error', options.onPoolError ?? ignore);
  }

  async migrate(): Promise<void> {
    await this.pool.query(schemaSql(this.table, 'postgres'));
    for (const column of ADDED_COLUMNS)
      await this.pool.query(`ALTER TABLE ${this.table} ADD COLUMN IF NOT EXISTS ${column.name} ${column.postgres}`);
  }

  async create(input: NewOperationRow): Promise<{ operation: Operation; created: boolean }> {
    const inserted = await this.pool.query<OperationRow>(
      `INSERT INTO ${this.table} (${INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING RETURNING *`,
      insertValues(input),
    );
    if (inserted.rows[0]) return { operation: fromPg(inserted.rows[0]), created: true };
    const existing = await this.findByIdempotencyKey(input.kind, input.idempotencyKey ?? '');
    if (!existing) throw new Error(`Insert of operation ${input.id} conflicted but no row was found.`);
    return { operation: existing, created: false };
  }

  async transition(
    id: string,
    guard: TransitionGuard,
    to: OperationStatus,
    patch: TransitionPatch,
    join?: (tx: PoolClient) => unknown,
  ): Promise<Operation | undefined> {
    const { sql, params } = this.update(id, guard, to, patch);
    const result = await this.run<OperationRow>(`${sql} RETURNING *`, params, join);
    return result.rows[0] && fromPg(result.rows[0]);
  }

  async apply(
    id: string,
    guard: TransitionGuard,
    to: OperationStatus,
    patch: TransitionPatch,
    join?: (tx: PoolClient) => unknown,
  ): Promise<boolean> {
    const { sql, params } = this.update(id, guard, to, patch);
    return (await this.run(sql, params, join)).rowCount === 1;
  }

  /** The compare-and-set UPDATE for this patch. */
  private update(
    id: string,
    guard: TransitionGuard,
    to: OperationStatus,
    patch: TransitionPatch,
  ): { sql: string; params: unknown[] } {
    // The statuses go as one array parameter, so shapes that differ only in their count share a text.
    const shape = updateShape(patch, guard, false);
    let sql = this.updates.get(shape.key);
    if (sql === undefined) {
      const columns = shapeColumns(shape.mask);
      const sets = ['status = $1', ...columns.map((column, i) => `${column} = $${i + 2}`)].join(', ');
      sql = `UPDATE ${this.table} SET ${sets} WHERE id = $${columns.length + 2} AND status = ANY($${columns.length + 3}::text[])`;
      if (guard.leaseOwner !== undefined) sql += ` AND lease_owner = $${columns.length + 4}`;
      this.updates.set(shape.key, sql);
    }
    const params: unknown[] = [to];
    pushPatchValues(params, patch, shape.mask);
    params.push(id, [...guard.from]);
    if (guard.leaseOwner !== undefined) params.push(guard.leaseOwner);
    return { sql, params };
  }

  /** The update alone, or with the caller's joined write in one transaction when it matched a row. */
  private async run<R extends QueryResultRow>(
    sql: string,
    params: unknown[],
    join: ((tx: PoolClient) => unknown) | undefined,
  ): Promise<QueryResult<R>> {
    if (!join) return this.pool.query<R>(sql, params);
    const client = await this.pool.connect();
    // A connection lost while checked out (between two statements) emits 'error' on the client itself.
    client.on('error', ignore);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await client.query<R>(sql, params);
      if (result.rowCount === 1) {
        try {
          await join(client);
        } catch (error) {
          throw new JoinedWriteError(error);
        }
      }
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw error;
    } finally {
      client.off('error', ignore);
      // A connection whose rollback failed is not returned to the pool: release(error) discards it.
      client.release(broken);
    }
  }

  async get(id: string): Promise<Operation | undefined> {
    const result = await this.pool.query<OperationRow>(`SELECT * FROM ${this.table} WHERE id = $1`, [id]);
    return result.rows[0] && fromPg(result.rows[0]);
  }

  async findByIdempotencyKey(kind: string, key: string): Promise<Operation | undefined> {
    const result = await this.pool.query<OperationRow>(
      `SELECT * FROM ${this.table} WHERE kind = $1 AND idempotency_key = $2`,
      [kind, key],
    );
    return result.rows[0] && fromPg(result.rows[0]);
  }

  async query(query: OperationQuery): Promise<Operation[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (column: string, op: string, value: unknown): void => {
      params.push(value);
      where.push(`${column} ${op} $${params.length}`);
    };
    if (query.status !== undefined) add('status', '=', query.status);
    if (query.kind !== undefined) add('kind', '=', query.kind);
    if (query.correlationId !== undefined) add('correlation_id', '=', query.correlationId);
    if (query.createdSince !== undefined) add('created_at', '>=', query.createdSince);
    if (query.finishedSince !== undefined) add('finished_at', '>=', query.finishedSince);
    params.push(query.limit ?? 100);
    const sql = `SELECT * FROM ${this.table}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`;
    return (await this.pool.query<OperationRow>(sql, params)).rows.map((row) => fromPg(row));
  }

  async expiredLeases(now: number, limit: number): Promise<Operation[]> {
    const result = await this.pool.query<OperationRow>(
      `SELECT * FROM ${this.table} WHERE status = 'running' AND lease_expires_at < $1 ORDER BY lease_expires_at LIMIT $2`,
      [now, limit],
    );
    return result.rows.map((row) => fromPg(row));
  }

  async prune(status: FinishedStatus, finishedBefore: number, limit: number): Promise<number> {
    const result = await this.pool.query(
      `DELETE FROM ${this.table} WHERE id IN (SELECT id FROM ${this.table} WHERE status = $1 AND created_at < $2 AND finished_at < $2 ORDER BY created_at LIMIT $3)`,
      [status, finishedBefore, limit],
    );
    return result.rowCount ?? 0;
  }

  /** The pool belongs to the caller; closing the store does not end it. */
  async close(): Promise<void> {}
}
