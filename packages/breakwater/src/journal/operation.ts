/** The life of an operation. Terminal states are written once and never change. */
export const OPERATION_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];
export type TerminalStatus = 'succeeded' | 'failed' | 'cancelled';

export const TERMINAL: ReadonlySet<OperationStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/** Which status may follow which. Anything else is refused (`JOURNAL_ILLEGAL_TRANSITION`). */
export const ALLOWED_TRANSITIONS: Readonly<Record<OperationStatus, readonly OperationStatus[]>> = {
  pending: ['running', 'cancelled', 'failed'],
  // running → running is a new attempt or a lease takeover, still compare-and-set on the owner.
  running: ['running', 'succeeded', 'failed', 'cancelled', 'pending'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export interface Operation {
  /** Sortable by creation time (UUIDv7). */
  id: string;
  kind: string;
  idempotencyKey: string | null;
  status: OperationStatus;
  attempts: number;
  errorCategory: string | null;
  errorCode: string | null;
  /** Redacted before it is written. */
  errorMessage: string | null;
  /** Who was at fault (`caller`, `dependency`, `self`): a replay renders the same status. */
  errorOrigin: string | null;
  correlationId: string | null;
  sessionId: string | null;
  metadata: Record<string, unknown> | null;
  /** The outcome of a succeeded operation (or the partial output of a failed one), JSON. */
  result: unknown;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
}

export interface NewOperation {
  kind: string;
  idempotencyKey?: string;
  correlationId?: string;
  sessionId?: string;
  metadata?: Record<string, unknown>;
}

/** A row to insert: a new operation, pending, or already claimed (running under a lease: one write instead of two). */
export interface NewOperationRow extends NewOperation {
  id: string;
  createdAt: number;
  claim?: { owner: string; leaseExpiresAt: number };
}

/** What a transition writes besides the status. */
export interface TransitionPatch {
  attempts?: number;
  errorCategory?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  errorOrigin?: string | null;
  result?: unknown;
  startedAt?: number | null;
  finishedAt?: number | null;
  leaseOwner?: string | null;
  leaseExpiresAt?: number | null;
}

/** Compare-and-set condition: the transition applies only if the row still matches. */
export interface TransitionGuard {
  from: readonly OperationStatus[];
  /** Required current lease owner (for running operations). */
  leaseOwner?: string;
}

/** The terminal statuses: what retention prunes. */
export type FinishedStatus = 'succeeded' | 'failed' | 'cancelled';

export interface OperationQuery {
  status?: OperationStatus;
  kind?: string;
  correlationId?: string;
  /** Only operations created at or after this time (ms since epoch). */
  createdSince?: number;
  /** Only operations finished at or after this time (ms since epoch). */
  finishedSince?: number;
  limit?: number;
}

export function isTerminal(status: OperationStatus): status is TerminalStatus {
  return TERMINAL.has(status);
}

/** How a failed operation ends: `cancelled` when the failure is a cancellation, else `failed`. */
export function failureStatus(error: { category: string }): 'failed' | 'cancelled' {
  return error.category === 'cancelled' ? 'cancelled' : 'failed';
}

/** A fresh row for `input`, as every store creates it. */
export function newOperationRecord(input: NewOperationRow): Operation {
  return {
    id: input.id,
    kind: input.kind,
    idempotencyKey: input.idempotencyKey ?? null,
    status: input.claim ? 'running' : 'pending',
    attempts: input.claim ? 1 : 0,
    errorCategory: null,
    errorCode: null,
    errorMessage: null,
    errorOrigin: null,
    correlationId: input.correlationId ?? null,
    sessionId: input.sessionId ?? null,
    metadata: input.metadata ?? null,
    result: null,
    createdAt: input.createdAt,
    startedAt: input.claim ? input.createdAt : null,
    finishedAt: null,
    leaseOwner: input.claim?.owner ?? null,
    leaseExpiresAt: input.claim?.leaseExpiresAt ?? null,
  };
}

/** Whether `record` passes the compare-and-set `guard` (its status, and its lease owner if named). */
export function passesGuard(record: Operation, guard: TransitionGuard): boolean {
  return (
    guard.from.includes(record.status) && (guard.leaseOwner === undefined || record.leaseOwner === guard.leaseOwner)
  );
}

/** `record` after a transition to `to` with `patch`, as a SQL store writes it: an undefined field stays as it was. */
export function transitioned(record: Operation, to: OperationStatus, patch: TransitionPatch): Operation {
  // Field by field, not spread: it runs for every request the gateway journals (see newOperationRecord).
  const next: Operation = {
    id: record.id,
    kind: record.kind,
    idempotencyKey: record.idempotencyKey,
    status: to,
    attempts: record.attempts,
    errorCategory: record.errorCategory,
    errorCode: record.errorCode,
    errorMessage: record.errorMessage,
    errorOrigin: record.errorOrigin,
    correlationId: record.correlationId,
    sessionId: record.sessionId,
    metadata: record.metadata,
    result: record.result,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    leaseOwner: record.leaseOwner,
    leaseExpiresAt: record.leaseExpiresAt,
  };
  for (const key of Object.keys(patch) as Array<keyof TransitionPatch>) {
    const value = patch[key];
    if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
  }
  return next;
}

/** The insert's values, in the column order the SQL stores use. */
export const INSERT_COLUMNS =
  'id, kind, idempotency_key, status, attempts, correlation_id, session_id, metadata, created_at, started_at, lease_owner, lease_expires_at';

export function insertValues(input: NewOperationRow): unknown[] {
  return insertValuesOf(newOperationRecord(input));
}

/** A record's values for the insert's columns (`INSERT_COLUMNS`), metadata as JSON text. */
export function insertValuesOf(row: Operation): unknown[] {
  return [
    row.id,
    row.kind,
    row.idempotencyKey,
    row.status,
    row.attempts,
    row.correlationId,
    row.sessionId,
    row.metadata === null ? null : JSON.stringify(row.metadata),
    row.createdAt,
    row.startedAt,
    row.leaseOwner,
    row.leaseExpiresAt,
  ];
}
