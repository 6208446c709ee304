import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { Journal } from 'breakwater';
import { SqliteJournalStore } from 'breakwater/journal-sqlite';

const WORKER = fileURLToPath(new URL('./crash-worker.ts', import.meta.url));
const ROUNDS = 8;

/** Starts a worker, waits until it is doing work, lets it run a random while, then SIGKILLs it. */
async function runAndKill(path: string): Promise<void> {
  const child = spawn(process.execPath, ['--conditions=breakwater-source', '--import', 'tsx', WORKER, path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
  await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 200));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

test('workers killed with SIGKILL at random moments leave every operation in one terminal state (or pending), and joined writes match', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bw-crash-'));
  const path = join(dir, 'journal.db');
  try {
    for (let round = 0; round < ROUNDS; round++) {
      await runAndKill(path);
      // The restarted process sweeps once the dead worker's leases have expired (time moved on).
      const db = new BetterSqlite3(path);
      const journal = new Journal({ store: new SqliteJournalStore(db), leaseMs: 300, now: () => Date.now() + 1_000 });
      await journal.sweep(100_000);
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      db.close();
    }

    const db = new BetterSqlite3(path, { readonly: true });
    const counts = Object.fromEntries(
      (
        db.prepare('SELECT status, count(*) AS n FROM breakwater_operations GROUP BY status').all() as Array<{
          status: string;
          n: number;
        }>
      ).map((r) => [r.status, r.n]),
    );
    assert.equal(counts['running'] ?? 0, 0, 'nothing is left running');
    assert.ok((counts['succeeded'] ?? 0) > ROUNDS * 10, `work got done: ${JSON.stringify(counts)}`);
    assert.ok((counts['failed'] ?? 0) > 0);
    const mismatched = db
      .prepare(
        `SELECT o.id, o.status, w.op_id FROM breakwater_operations o FULL OUTER JOIN user_writes w ON w.op_id = o.id
         WHERE (o.status = 'succeeded') != (w.op_id IS NOT NULL) OR o.id IS NULL`,
      )
      .all();
    assert.deepEqual(mismatched, [], 'a joined write exists exactly for each succeeded operation');
    const abandoned = db
      .prepare(`SELECT count(*) AS n FROM breakwater_operations WHERE error_code = 'OPERATION_ABANDONED'`)
      .get() as { n: number };
    assert.ok(abandoned.n > 0, 'killed workers left abandoned operations for the sweeper');
    const badFailures = db
      .prepare(
        `SELECT count(*) AS n FROM breakwater_operations WHERE status = 'failed' AND (error_code IS NULL OR finished_at IS NULL)`,
      )
      .get() as { n: number };
    assert.equal(badFailures.n, 0, 'every failure says why and when');
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
