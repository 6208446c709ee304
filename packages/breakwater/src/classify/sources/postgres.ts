import { BACKOFF, defineRules, NO_DELAY, type Rule, type Signal } from '../rule.js';
import { classNames, read, readString } from '../walk.js';

export const PG_RULES = defineRules('pg', 'pg (Postgres SQLSTATE)', {
  serialization_failure: {
    signal: '40001 serialization_failure, 40P01 deadlock_detected (retry the whole transaction)',
    category: 'conflict',
    retryable: true,
    delay: BACKOFF,
  },
  lock_not_available: {
    signal: '55P03 lock_not_available (NOWAIT, lock_timeout)',
    category: 'conflict',
    retryable: true,
    delay: BACKOFF,
  },
  unique_violation: {
    signal: '23505 unique_violation, 23P01 exclusion_violation',
    category: 'conflict',
    retryable: false,
    delay: NO_DELAY,
  },
  integrity_violation: {
    signal: '23502 not_null, 23503 foreign_key, 23514 check, other class 23',
    category: 'validation',
    retryable: false,
    delay: NO_DELAY,
  },
  data_exception: {
    signal: 'class 22 data exception (22P02, 22012, 22001 …)',
    category: 'validation',
    retryable: false,
    delay: NO_DELAY,
  },
  syntax_or_schema: {
    signal: 'class 42 syntax error or access rule (42601, 42P01, 42703 …) except 42501',
    category: 'validation',
    retryable: false,
    delay: NO_DELAY,
  },
  insufficient_privilege: {
    signal: '42501 insufficient_privilege',
    category: 'permission',
    retryable: false,
    delay: NO_DELAY,
  },
  auth_failed: {
    signal: '28000, 28P01 invalid authorization / password',
    category: 'authentication',
    retryable: false,
    delay: NO_DELAY,
  },
  unknown_database: {
    signal: '3D000 invalid_catalog_name (database does not exist)',
    category: 'not_found',
    retryable: false,
    delay: NO_DELAY,
  },
  connection_exception: {
    signal: 'class 08 connection exception (08000, 08003, 08006, 08001, 08004)',
    category: 'network',
    retryable: true,
    delay: BACKOFF,
  },
  insufficient_resources: {
    signal: '53000, 53200 out_of_memory, 53300 too_many_connections',
    category: 'overloaded',
    retryable: true,
    delay: BACKOFF,
  },
  disk_full: { signal: '53100 disk_full', category: 'overloaded', retryable: false, delay: NO_DELAY },
  admin_shutdown: {
    signal: '57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (reconnect and retry)',
    category: 'network',
    retryable: true,
    delay: BACKOFF,
  },
  query_canceled: {
    signal: '57014 query_canceled (statement_timeout or pg_cancel_backend)',
    category: 'timeout',
    retryable: true,
    delay: BACKOFF,
  },
  failed_transaction: {
    signal: '25P02 in_failed_sql_transaction (roll back first; a bug in the caller of the transaction)',
    category: 'internal',
    retryable: false,
    delay: NO_DELAY,
  },
  server_error: {
    signal: 'any other SQLSTATE (XX000 internal_error, …)',
    category: 'upstream_server',
    retryable: false,
    delay: NO_DELAY,
  },
  client_connection_lost: {
    signal:
      "pg client 'Connection terminated unexpectedly', 'Connection terminated', 'Client has encountered a connection error and is not queryable', 'Client was closed and is not queryable' (no code: message)",
    category: 'network',
    retryable: true,
    delay: BACKOFF,
  },
  client_timeout: {
    signal:
      "pg client 'Query read timeout', 'Connection terminated due to connection timeout', pool 'timeout exceeded when trying to connect' (no code: message)",
    category: 'timeout',
    retryable: true,
    delay: BACKOFF,
  },
});

const EXACT: ReadonlyMap<string, Rule> = new Map([
  ['40001', PG_RULES.serialization_failure],
  ['40P01', PG_RULES.serialization_failure],
  ['55P03', PG_RULES.lock_not_available],
  ['23505', PG_RULES.unique_violation],
  ['23P01', PG_RULES.unique_violation],
  ['42501', PG_RULES.insufficient_privilege],
  ['3D000', PG_RULES.unknown_database],
  ['53100', PG_RULES.disk_full],
  ['57014', PG_RULES.query_canceled],
  ['25P02', PG_RULES.failed_transaction],
]);

const BY_CLASS: ReadonlyMap<string, Rule> = new Map([
  ['23', PG_RULES.integrity_violation],
  ['22', PG_RULES.data_exception],
  ['42', PG_RULES.syntax_or_schema],
  ['28', PG_RULES.auth_failed],
  ['08', PG_RULES.connection_exception],
  ['53', PG_RULES.insufficient_resources],
  ['57', PG_RULES.admin_shutdown],
]);

const SQLSTATE = /^[0-9A-Z]{5}$/;
// pg raises these as plain Errors without a code; the message is the only signal it gives.
const CLIENT_MESSAGES: ReadonlyArray<[RegExp, Rule]> = [
  [
    /^(Query read timeout|timeout exceeded when trying to connect|Connection terminated due to connection timeout)$/,
    PG_RULES.client_timeout,
  ],
  [
    /^(Connection terminated( unexpectedly)?|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)$/,
    PG_RULES.client_connection_lost,
  ],
];

export function ruleForSqlState(code: string): Rule {
  return EXACT.get(code) ?? BY_CLASS.get(code.slice(0, 2)) ?? PG_RULES.server_error;
}

/** Server errors by SQLSTATE (`err.code`); pg's own client failures by their fixed messages. */
export function classifyPostgres(value: unknown): Signal | undefined {
  const code = readString(value, 'code');
  const isServerError = classNames(value).includes('DatabaseError') || typeof read(value, 'severity') === 'string';
  if (code !== undefined && SQLSTATE.test(code) && isServerError) {
    return { rule: ruleForSqlState(code), domain: 'POSTGRES', dependency: 'postgres', details: { sqlstate: code } };
  }
  const message = readString(value, 'message');
  if (message === undefined) return undefined;
  const match = CLIENT_MESSAGES.find(([pattern]) => pattern.test(message));
  return match && { rule: match[1], domain: 'POSTGRES', dependency: 'postgres' };
}
