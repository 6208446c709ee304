// npm run bench:journal-soak — a month of traffic through the durable SQLite journal, compressed:
// 1M operations (BENCH_OPS) by 64 concurrent workers, each one durable create (claimed) + one durable
// succeed, on a synthetic clock of 1 ms per operation. With retention (succeeded kept 60 s of that
// clock, pruned by the sweeper's batches every 10,000 operations) the database must stay bounded,
// and write throughput within 10% of the same run without retention. Last line: JSON.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Journal } from 'breakwater';
import { SqliteJournalStore } from 'breakwater/journal-sqlite';
import { round, table } from './harness.js';

const OPS = Number(process.env.BENCH_OPS ?? 1_000_000);
const CONCURRENCY = 64;
const PRUNE_EVERY = 10_000;
const RETENTION_MS = 60_000;

const size = (file: string): number =>
  [file, `${file}-wal`].reduce((sum, f) => sum + (statSync(f, { throwIfNoEntry: false })?.size ?? 0), 0);

async function soak(file: string, retention: boolean) {
  const db = new BetterSqlite3(file);
  const store = new SqliteJournalStore(db, { synchronous: 'FULL' });
  let clock = 1_800_000_000_000;
  const journal = new Journal({
    store,
    leaseMs: 3_600_000,
    now: () => clock,
    ...(retention ? { retention: { succeeded: RETENTION_MS } } : {}),
  });
  let started = 0;
  let maxBytes = 0;
  let pruning: Promise<unknown> = Promise.resolve();
  const worker = async (): Promise<void> => {
    while (started < OPS) {
      started++;
      clock++;
      const { operation } = await journal.createClaimed({ kind: 'soak', metadata: { model: 'soak' } });
      await journal.succeed(
        operation.id,
        { target: 'p:m', attempts: 1, usage: { prompt_tokens: 12, completion_tokens: 11 } },
        1,
      );
      if (started % PRUNE_EVERY === 0) {
        // What the sweeper does on each tick (one at a time, alongside the writers).
        if (retention) pruning = pruning.then(() => journal.prune(1_000, 50));
        maxBytes = Math.max(maxBytes, size(file));
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await pruning;
  const seconds = (performance.now() - t0) / 1000;
  const rows = (db.prepare('SELECT count(*) AS n FROM breakwater_operations').get() as { n: number }).n;
  db.pragma('wal_checkpoint(TRUNCATE)');
  const result = {
    opsPerS: round(OPS / seconds, 0),
    rows,
    maxMB: round(maxBytes / 1e6, 1),
    finalMB: round(size(file) / 1e6, 1),
  };
  await store.close();
  return result;
}

const dir = mkdtempSync(join(tmpdir(), 'bw-soak-'));
try {
  const without = await soak(join(dir, 'without.db'), false);
  const withRetention = await soak(join(dir, 'with.db'), true);
  table([
    {
      run: 'no retention',
      ops_per_s: without.opsPerS,
      rows_left: without.rows,
      max_MB: without.maxMB,
      final_MB: without.finalMB,
    },
    {
      run: `retention ${RETENTION_MS / 1000}s`,
      ops_per_s: withRetention.opsPerS,
      rows_left: withRetention.rows,
      max_MB: withRetention.maxMB,
      final_MB: withRetention.finalMB,
    },
  ]);
  console.log(
    JSON.stringify({
      operations: OPS,
      no_retention_ops_per_s: without.opsPerS,
      retention_ops_per_s: withRetention.opsPerS,
      throughput_ratio: round(withRetention.opsPerS / without.opsPerS, 3),
      no_retention_rows: without.rows,
      retention_rows: withRetention.rows,
      no_retention_max_mb: without.maxMB,
      retention_max_mb: withRetention.maxMB,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
