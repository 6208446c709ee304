import { BACKOFF, defineRules, NO_DELAY, type Rule, type Signal } from '../rule.js';
import { classNames, readString } from '../walk.js';

export const SQLITE_RULES = defineRules('sqlite', 'better-sqlite3 (SQLite result codes)', {
  busy: {
    signal: 'SQLITE_BUSY*, SQLITE_LOCKED* (another connection holds the lock past busy_timeout)',
    category: 'conflict',
    retryable: true,
    delay: BACKOFF,
  },
  disk_full: {
    signal: 'SQLITE_FULL (the disk, or max_page_count, is full)',
    category: 'overloaded',
    retryable: false,
    delay: NO_DELAY,
  },
  read_only: {
    signal: 'SQLITE_READONLY* (read-only file or connection)',
    category: 'permission',
    retryable: false,
    delay: NO_DELAY,
  },
  unique_violation: {
    signal: 'SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY',
    category: 'conflict',
    retryable: false,
    delay: NO_DELAY,
  },
  constraint_violation: {
    signal: 'other SQLITE_CONSTRAINT_* (NOT NULL, CHECK, FOREIGN KEY, a trigger RAISE)',
    category: 'validation',
    retryable: false,
    delay: NO_DELAY,
  },
  storage_failed: {
    signal: 'SQLITE_IOERR*, SQLITE_CORRUPT*, SQLITE_NOTADB, SQLITE_CANTOPEN (the file or the disk failed)',
    category: 'upstream_server',
    retryable: false,
    delay: NO_DELAY,
  },
  sql_error: {
    signal: 'SQLITE_ERROR, SQLITE_RANGE, SQLITE_MISMATCH (bad SQL, missing table, wrong binding)',
    category: 'validation',
    retryable: false,
    delay: NO_DELAY,
  },
});

/** Primary result code (`SQLITE_IOERR` of `SQLITE_IOERR_WRITE`) → row; extended codes refine a few. */
const BY_PRIMARY: ReadonlyMap<string, Rule> = new Map([
  ['SQLITE_BUSY', SQLITE_RULES.busy],
  ['SQLITE_LOCKED', SQLITE_RULES.busy],
  ['SQLITE_FULL', SQLITE_RULES.disk_full],
  ['SQLITE_READONLY', SQLITE_RULES.read_only],
  ['SQLITE_CONSTRAINT', SQLITE_RULES.constraint_violation],
  ['SQLITE_IOERR', SQLITE_RULES.storage_failed],
  ['SQLITE_CORRUPT', SQLITE_RULES.storage_failed],
  ['SQLITE_NOTADB', SQLITE_RULES.storage_failed],
  ['SQLITE_CANTOPEN', SQLITE_RULES.storage_failed],
  ['SQLITE_ERROR', SQLITE_RULES.sql_error],
  ['SQLITE_RANGE', SQLITE_RULES.sql_error],
  ['SQLITE_MISMATCH', SQLITE_RULES.sql_error],
]);
const UNIQUE = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);
const PRIMARY = /^SQLITE_[A-Z]+/;

/** better-sqlite3's `SqliteError`, by its class name and `code` (the SQLite result code name). */
export function classifySqlite(value: unknown): Signal | undefined {
  const code = readString(value, 'code');
  if (code === undefined || !code.startsWith('SQLITE_') || !classNames(value).includes('SqliteError')) return undefined;
  const rule = UNIQUE.has(code) ? SQLITE_RULES.unique_violation : BY_PRIMARY.get(PRIMARY.exec(code)?.[0] ?? '');
  return rule && { rule, domain: 'SQLITE', dependency: 'sqlite', details: { sqliteCode: code } };
}
