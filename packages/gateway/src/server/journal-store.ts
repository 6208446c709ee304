import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { Logger } from 'pino';
import { MemoryJournalStore, type JournalStore } from 'breakwater';
import { SqliteJournalStore } from 'breakwater/journal-sqlite';
import { PostgresJournalStore } from 'breakwater/journal-postgres';
import type { GatewayConfig } from '../config/schema.js';

/** The name the gateway's Postgres connections carry (`pg_stat_activity.application_name`). */
export const POSTGRES_APPLICATION_NAME = 'breakwater-gateway';

/**
 * Opens the configured journal store. Every wait is bounded: SQLite gives up on a lock after a
 * short busy timeout (its waits block the event loop), Postgres connects within a few seconds,
 * and a lost Postgres connection is logged and replaced by the pool, never an uncaught 'error'.
 */
export async function openJournalStore(config: GatewayConfig, logger: Logger): Promise<JournalStore<unknown>> {
  const journal = config.journal;
  if ('memory' in journal) return new MemoryJournalStore() as JournalStore<unknown>;
  if ('sqlite' in journal) {
    const busyTimeoutMs = Math.min(100, journal.writeTimeoutMs);
    return new SqliteJournalStore(new BetterSqlite3(journal.sqlite), {
      busyTimeoutMs,
      synchronous: journal.synchronous,
      successCommitDelayMs: journal.successCommitDelayMs,
    }) as JournalStore<unknown>;
  }
  const pool = new pg.Pool({
    connectionString: journal.postgres,
    max: 10,
    application_name: POSTGRES_APPLICATION_NAME,
    connectionTimeoutMillis: Math.max(1_000, journal.writeTimeoutMs),
  });
  const store = new PostgresJournalStore(pool, {
    table: journal.table,
    onPoolError: (error) =>
      logger.warn({ event: 'journal_connection_lost', err: error }, 'journal: a Postgres connection was lost'),
  });
  try {
    await store.migrate();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  // The pool is ours: closing the store must end it too.
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    await pool.end();
  };
  return store as JournalStore<unknown>;
}
