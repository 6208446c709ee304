import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';

const WORKER = fileURLToPath(new URL('./shared-file-worker.ts', import.meta.url));
const PROCESSES = 3;
const KEYS = 120;

interface WorkerReport {
  ran: number;
  inProgress: number;
  results: Record<string, { id: string; by: number }>;
  failures: string[];
}

/** A worker process, started: `ready` resolves once its file is open, `report` when it has finished. */
function startWorker(path: string, seed: number): { go(): void; ready: Promise<void>; report: Promise<WorkerReport> } {
  const child = spawn(
    process.execPath,
    ['--conditions=breakwater-source', '--import', 'tsx', WORKER, path, String(KEYS), String(seed)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let out = '';
  let signalReady: () => void;
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes('ready')) signalReady();
  });
  // Bounded: a stuck lock fails the test instead of holding CI.
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const report = new Promise<WorkerReport>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`worker exited with ${code ?? signal}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as WorkerReport);
    });
  });
  return { go: () => child.stdin!.end('go\n'), ready, report };
}

test('processes sharing one SQLite journal file run each idempotency key exactly once and all agree on its result', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bw-shared-'));
  const path = join(dir, 'journal.db');
  try {
    const workers = Array.from({ length: PROCESSES }, (_, i) => startWorker(path, i + 1));
    // Together: each starts its keys only when all have the file open, so they collide.
    await Promise.all(workers.map((w) => w.ready));
    for (const worker of workers) worker.go();
    const reports = await Promise.all(workers.map((w) => w.report));

    for (const report of reports) assert.deepEqual(report.failures, [], 'no lock error, no lost write');
    const ran = reports.reduce((sum, r) => sum + r.ran, 0);
    assert.equal(ran, KEYS, 'each key ran once across all processes');
    for (let k = 0; k < KEYS; k++) {
      const seen = reports.map((r) => r.results[`key-${k}`]);
      assert.ok(seen[0], `key-${k} settled`);
      for (const result of seen) assert.deepEqual(result, seen[0], `every process got key-${k}'s one result`);
    }
    const writers = new Set(Object.values(reports[0]!.results).map((r) => r.by));
    assert.ok(writers.size > 1, `the work was shared between processes (${[...writers].join(', ')})`);
    const collisions = reports.reduce((sum, r) => sum + r.inProgress, 0);
    assert.ok(collisions > 0, 'some key was asked for while a sibling was running it');

    const db = new BetterSqlite3(path, { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      const statuses = db.prepare('SELECT status, count(*) AS n FROM breakwater_operations GROUP BY status').all();
      assert.deepEqual(statuses, [{ status: 'succeeded', n: KEYS }]);
      const joined = db
        .prepare('SELECT count(*) AS n FROM user_writes w JOIN breakwater_operations o ON o.id = w.op_id')
        .get() as { n: number };
      assert.equal(joined.n, KEYS, 'one joined write per operation, committed with it');
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
