import {
  INSERT_COLUMNS,
  insertValuesOf,
  type Operation,
  type TransitionGuard,
  type TransitionPatch,
} from './operation.js';

/** Column names of the operations table, shared by the SQL stores. */
export const PATCH_COLUMNS: Readonly<Record<keyof TransitionPatch, string>> = {
  attempts: 'attempts',
  errorCategory: 'error_category',
  errorCode: 'error_code',
  errorMessage: 'error_message',
  errorOrigin: 'error_origin',
  result: 'result',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  leaseOwner: 'lease_owner',
  leaseExpiresAt: 'lease_expires_at',
};

/** JSON columns are stored as text (SQLite) or jsonb (Postgres): both go through this. */
export const JSON_COLUMNS: ReadonlySet<string> = new Set(['result', 'metadata']);

export interface OperationRow {
  id: string;
  kind: string;
  idempotency_key: string | null;
  status: Operation['status'];
  attempts: number;
  error_category: string | null;
  error_code: string | null;
  error_message: string | null;
  error_origin: string | null;
  correlation_id: string | null;
  session_id: string | null;
  metadata: unknown;
  result: unknown;
  created_at: number | string;
  started_at: number | string | null;
  finished_at: number | string | null;
  lease_owner: string | null;
  lease_expires_at: number | string | null;
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));
const parse = (v: unknown): unknown => (typeof v === 'string' ? (JSON.parse(v) as unknown) : (v ?? null));

/** A row as an Operation. `jsonIsText`: SQLite hands JSON columns back as text; pg parses jsonb itself. */
export function fromRow(row: OperationRow, jsonIsText = true): Operation {
  const json = jsonIsText ? parse : (v: unknown): unknown => v ?? null;
  return {
    id: row.id,
    kind: row.kind,
    idempotencyKey: row.idempotency_key,
    status: row.status,
    attempts: Number(row.attempts),
    errorCategory: row.error_category,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    errorOrigin: row.error_origin ?? null,
    correlationId: row.correlation_id,
    sessionId: row.session_id,
    metadata: json(row.metadata) as Record<string, unknown> | null,
    result: json(row.result),
    createdAt: Number(row.created_at),
    startedAt: num(row.started_at),
    finishedAt: num(row.finished_at),
    leaseOwner: row.lease_owner,
    leaseExpiresAt: num(row.lease_expires_at),
  };
}

const PATCH_KEYS = Object.keys(PATCH_COLUMNS) as ReadonlyArray<keyof TransitionPatch>;

/**
 * A compare-and-set UPDATE's shape: which patch columns it sets, how many statuses it accepts,
 * whether it checks the lease owner, whether it returns the row. Writes of one shape share one SQL
 * text and one prepared statement, so the SQL is built once per shape, not per write (a pending
 * write of a group commit holds only its parameters).
 */
export interface UpdateShape {
  /** Bit i set: the patch sets PATCH_KEYS[i]. */
  readonly mask: number;
  /** A number naming the whole shape (the statement cache's key). */
  readonly key: number;
}

export function updateShape(patch: TransitionPatch, guard: TransitionGuard, returning: boolean): UpdateShape {
  let mask = 0;
  for (let i = 0; i < PATCH_KEYS.length; i++) if (patch[PATCH_KEYS[i]!] !== undefined) mask |= 1 << i;
  // PATCH_KEYS has 10 keys (bits 0-9); a guard names at most the 5 statuses (bits 10-12).
  const key =
    mask | (guard.from.length << 10) | (guard.leaseOwner === undefined ? 0 : 1 << 13) | (returning ? 1 << 14 : 0);
  return { mask, key };
}

/** The columns a shape sets, in the stable order of PATCH_COLUMNS. */
export function shapeColumns(mask: number): string[] {
  return PATCH_KEYS.filter((_, i) => mask & (1 << i)).map((key) => PATCH_COLUMNS[key]);
}

/** Appends the values a shape sets to `params` (JSON columns as text), in the order of `shapeColumns`. */
export function pushPatchValues(params: unknown[], patch: TransitionPatch, mask: number): void {
  for (let i = 0; i < PATCH_KEYS.length; i++) {
    if (!(mask & (1 << i))) continue;
    const key = PATCH_KEYS[i]!;
    const value = patch[key];
    params.push(JSON_COLUMNS.has(PATCH_COLUMNS[key]) && value !== null ? JSON.stringify(value) : value);
  }
}

/** Every column of a row, for an insert of a whole row (`rowValues`): the insert's, then the rest. */
export const ROW_COLUMNS = `${INSERT_COLUMNS}, error_category, error_code, error_message, error_origin, result, finished_at`;

/** A whole row's values, in the order of `ROW_COLUMNS` (JSON columns as text). */
export function rowValues(row: Operation): unknown[] {
  const values = insertValuesOf(row);
  values.push(
    row.errorCategory,
    row.errorCode,
    row.errorMessage,
    row.errorOrigin,
    row.result === null || row.result === undefined ? null : JSON.stringify(row.result),
    row.finishedAt,
  );
  return values;
}

/** Table names are interpolated into SQL: only plain identifiers are accepted. */
export function checkIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name))
    throw new TypeError(`Expected \`table\` to be a plain SQL identifier, got ${JSON.stringify(name)}.`);
  return name;
}

/**
 * Columns added after the first release, with their type per dialect: `migrate()` adds any that an
 * existing table lacks (additive only; old rows read them as null).
 */
export const ADDED_COLUMNS: ReadonlyArray<{ name: string; sqlite: string; postgres: string }> = [
  { name: 'error_origin', sqlite: 'TEXT', postgres: 'text' },
];

/** The operations table and its indexes, in either SQL dialect (only the column types differ). */
export function schemaSql(table: string, dialect: 'sqlite' | 'postgres'): string {
  const [text, int, big, json] =
    dialect === 'sqlite' ? ['TEXT', 'INTEGER', 'INTEGER', 'TEXT'] : ['text', 'integer', 'bigint', 'jsonb'];
  const t = checkIdentifier(table);
  return `
    CREATE TABLE IF NOT EXISTS ${t} (
      id ${text} PRIMARY KEY,
      kind ${text} NOT NULL,
      idempotency_key ${text},
      status ${text} NOT NULL CHECK (status IN ('pending','running','succeeded','failed','cancelled')),
      attempts ${int} NOT NULL DEFAULT 0,
      error_category ${text}, error_code ${text}, error_message ${text}, error_origin ${text},
      correlation_id ${text}, session_id ${text}, metadata ${json}, result ${json},
      created_at ${big} NOT NULL, started_at ${big}, finished_at ${big},
      lease_owner ${text}, lease_expires_at ${big}
    );
    CREATE UNIQUE INDEX IF NOT EXISTS ${t}_idempotency ON ${t} (kind, idempotency_key) WHERE idempotency_key IS NOT NULL;
    CREATE INDEX IF NOT EXISTS ${t}_lease ON ${t} (status, lease_expires_at);
    CREATE INDEX IF NOT EXISTS ${t}_status_created ON ${t} (status, created_at);
    CREATE INDEX IF NOT EXISTS ${t}_correlation ON ${t} (correlation_id);
    CREATE INDEX IF NOT EXISTS ${t}_kind_created ON ${t} (kind, created_at);
  `;
}
