import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Journal } from 'breakwater';
import { Checkpointer, SqliteJournalStore } from 'breakwater/journal-sqlite';
import { waitFor } from '../support/wait-for.js';

// A WAL checkpoint copies the WAL's pages into the database file and fsyncs it. SQLite runs one inside
// whichever commit crosses 1,000 WAL pages — on the event loop, as better-sqlite3 is synchronous. The
// store turns that off and has a worker thread with its own connection do it.
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bw-checkpoint-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("the store's connection never checkpoints in a commit; the worker copies the WAL into the database file", async () => {
  const file = join(dir, 'journal.db');
  const db = new BetterSqlite3(file);
  const store = new SqliteJournalStore(db, { checkpointIntervalMs: 0 });
  assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0, 'no checkpoint inside a commit');
  const journal = new Journal({ store, owner: 'me' });
  const sizeBefore = statSync(file).size;
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) {
    const id = journal.newId();
    ids.push(id);
    await journal.createClaimed({ kind: 'chat', metadata: { padding: 'x'.repeat(2_000) } }, id);
  }
  // Forty rows of 2 KB are ~25 pages: far below SQLite's own threshold of 1,000, so only the worker
  // can have grown the database file while the store's connection is open.
  await waitFor(() => statSync(file).size > sizeBefore, 'the worker to grow the database file');
  await store.close();
  const reopened = new BetterSqlite3(file, { readonly: true });
  const count = reopened.prepare('SELECT count(*) AS n FROM breakwater_operations').get() as { n: number };
  reopened.close();
  assert.equal(count.n, ids.length);
});

test('a checkpointer whose worker cannot work hands checkpoints back (onFailure), once', async () => {
  const failures: Error[] = [];
  let now = 0;
  const checkpointer = new Checkpointer({
    file: join(dir, 'missing.db'),
    onFailure: (error) => failures.push(error),
    now: () => now,
  });
  checkpointer.afterCommit();
  assert.equal(failures.length, 0, 'not before a second has passed since the last checkpoint started');
  now = 1_000;
  checkpointer.afterCommit();
  await waitFor(() => failures.length > 0, 'the failure to be reported');
  now = 5_000;
  checkpointer.afterCommit();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(failures.length, 1, 'reported once; no new worker is started after a failure');
  assert.match(failures[0]!.message, /unable to open|does not exist|exited|SQLITE_CANTOPEN/i);
  await checkpointer.close();
  assert.throws(() => new Checkpointer({ file: 'x', onFailure: () => {}, intervalMs: -1 }), /intervalMs/);
});

test('writes that never pause keep the WAL bounded: past maxWalFrames the writer checkpoints once, between commits', async () => {
  const file = join(dir, 'busy.db');
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (v TEXT)');
  let backlogs = 0;
  const checkpointer = new Checkpointer({
    file,
    intervalMs: 0,
    maxWalFrames: 500,
    onFailure: (error) => assert.fail(error),
    onBacklog: () => {
      backlogs++;
      db.pragma('wal_checkpoint(PASSIVE)');
    },
  });
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  const commit = db.transaction(() => {
    for (let i = 0; i < 20; i++) insert.run('x'.repeat(500));
  });
  // Each commit appends ~4 frames; 1,500 commits with no pause long enough for a checkpoint racing
  // them to finish would leave ~6,000 frames in the WAL.
  for (let i = 0; i < 1_500; i++) {
    commit();
    checkpointer.afterCommit();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await checkpointer.close();
  const frames = (db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>)[0]!.log;
  db.close();
  assert.ok(backlogs > 0, 'the backlog was reported');
  assert.ok(frames < 3_000, `the WAL was restarted along the way (${frames} frames at the end)`);
});

test(
  'close returns after closeTimeoutMs when a checkpoint in flight never finishes (a hung disk)',
  { timeout: 20_000 },
  async () => {
    const file = join(dir, 'journal.db');
    const failures: Error[] = [];
    const checkpointer = new Checkpointer({
      file,
      intervalMs: 0,
      closeTimeoutMs: 100,
      driver: fileURLToPath(new URL('../support/hanging-sqlite-driver.cjs', import.meta.url)),
      onFailure: (error) => failures.push(error),
    });
    checkpointer.afterCommit();
    await waitFor(() => existsSync(`${file}.stuck`), 'the checkpoint to be in flight');
    // Without the deadline this waits for the checkpoint, a minute: the test's timeout would fail it.
    await checkpointer.close();
    assert.deepEqual(failures, [], 'closing is not a failure to report');
  },
);
