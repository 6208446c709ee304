// npm run bench:journal — durable journal writes per second: SQLite with group commit vs one
// transaction per write (the autocommit baseline), and Postgres. Each operation is three durable
// transitions (create, claim, succeed) by one of many concurrent workers. Then the CPU one
// operation costs the SQLite store as the gateway writes it (created running, then succeeded), with
// random correlation ids against the time-ordered ones the integrations generate. Last line: JSON.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Journal, requestScopeFrom, runOperation, type JournalStore } from 'breakwater';
import { PostgresJournalStore } from 'breakwater/journal-postgres';
import { SqliteJournalStore } from 'breakwater/journal-sqlite';
import { round, table } from './harness.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);

async function transitionsPerSecond(store: JournalStore<never> | JournalStore<any>): Promise<number> {
  const journal = new Journal({ store, leaseMs: 60_000 });
  let transitions = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const { operation } = await journal.create({ kind: 'bench' });
      await journal.claim(operation.id);
      await journal.succeed(operation.id, { ok: true }, 1);
      transitions += 3;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return transitions / ((performance.now() - started) / 1000);
}

const PREFILL = Number(process.env.BENCH_PREFILL ?? 20_000);
const MEASURED = 10_000;

/**
 * CPU µs per operation (runOperation: created running, then succeeded) once the table holds
 * `PREFILL` rows, every operation carrying a correlation id from `correlationId`.
 */
async function cpuPerOperation(store: JournalStore<any>, correlationId: () => string): Promise<number> {
  const journal = new Journal({ store, leaseMs: 60_000 });
  const result = { target: 'sim:sim-model', attempts: 1, usage: { prompt_tokens: 3, completion_tokens: 4 } };
  const run = async (count: number): Promise<void> => {
    let left = count;
    const worker = async (): Promise<void> => {
      for (; left > 0; left--)
        await runOperation(journal, 'chat', () => result, {
          correlationId: correlationId(),
          metadata: { model: 'bench-model', stream: false },
        });
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  };
  await run(PREFILL);
  const before = process.cpuUsage();
  await run(MEASURED);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / MEASURED;
}

const dir = mkdtempSync(join(tmpdir(), 'bw-bench-journal-'));
const results: Record<string, number | string> = {};
const rows: Array<Record<string, string | number>> = [];
try {
  for (const groupCommit of [false, true]) {
    const db = new BetterSqlite3(join(dir, `journal-${groupCommit}.db`));
    const store = new SqliteJournalStore(db, { groupCommit, synchronous: 'FULL' });
    const rate = await transitionsPerSecond(store);
    const settings = `journal_mode=${db.pragma('journal_mode', { simple: true })}, synchronous=${db.pragma('synchronous', { simple: true })} (2 = FULL)`;
    rows.push({
      store: `sqlite ${groupCommit ? 'group commit' : 'one transaction per write'}`,
      transitions_per_s: round(rate, 0),
      settings,
      batches: store.batches,
    });
    results[groupCommit ? 'sqlite_group_commit_per_s' : 'sqlite_autocommit_per_s'] = round(rate, 0);
    await store.close();
  }
  // Interleaved, three times each: this machine's speed drifts; the lowest reading of each is kept.
  const ids = { random: () => randomUUID(), uuidv7: () => requestScopeFrom({}).correlationId };
  const cpu: Record<string, number> = {};
  for (const pass of [1, 2, 3])
    for (const [name, next] of Object.entries(ids)) {
      const store = new SqliteJournalStore(new BetterSqlite3(join(dir, `ids-${name}-${pass}.db`)));
      cpu[name] = Math.min(cpu[name] ?? Infinity, await cpuPerOperation(store, next));
      await store.close();
    }
  for (const [name, us] of Object.entries(cpu)) {
    const perOperation = round(us, 1);
    rows.push({
      store: `sqlite, ${name} correlation ids`,
      cpu_us_per_operation: perOperation,
      settings: `synchronous=FULL, group commit, ${PREFILL} rows before`,
    });
    results[`sqlite_cpu_us_per_op_${name}_correlation`] = perOperation;
  }
  const url = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const pool = new pg.Pool({ connectionString: url, max: 16 });
  try {
    const table = `bw_bench_journal_${process.pid}`;
    const store = new PostgresJournalStore(pool, { table });
    await store.migrate();
    const rate = await transitionsPerSecond(store);
    const sync = (await pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]
      ?.synchronous_commit;
    rows.push({
      store: 'postgres',
      transitions_per_s: round(rate, 0),
      settings: `synchronous_commit=${sync}, pool 16`,
    });
    results['postgres_per_s'] = round(rate, 0);
    await pool.query(`DROP TABLE ${table}`);
  } catch (error) {
    rows.push({ store: 'postgres', transitions_per_s: 0, settings: `unavailable: ${(error as Error).message}` });
  } finally {
    await pool.end();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
table(rows);
results['group_commit_speedup'] = round(
  Number(results['sqlite_group_commit_per_s']) / Number(results['sqlite_autocommit_per_s']),
  1,
);
results['uuidv7_vs_random_correlation_cpu'] = round(
  Number(results['sqlite_cpu_us_per_op_uuidv7_correlation']) /
    Number(results['sqlite_cpu_us_per_op_random_correlation']),
  2,
);
results['concurrency'] = CONCURRENCY;
results['seconds'] = SECONDS;
console.log(JSON.stringify(results));
