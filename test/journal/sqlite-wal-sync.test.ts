import assert from 'node:assert/strict';
import fs, { fstatSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, mock, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Journal } from 'breakwater';
import { SqliteJournalStore } from 'breakwater/journal-sqlite';
import { waitFor } from '../support/wait-for.js';

// SQLite's synchronous=FULL fsyncs the WAL inside every commit, on the event loop. The store runs
// SQLite with NORMAL and makes the same fsync itself on the thread pool: a write still settles only
// once its commit is on disk, and the event loop never waits for the disk.
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bw-wal-sync-'));
});
afterEach(() => {
  mock.restoreAll();
  syncBuiltinESMExports();
  rmSync(dir, { recursive: true, force: true });
});

/** fs.fsync held until the test releases it, recording which file each call was for. */
function holdFsyncs() {
  const realFsync = fs.fsync;
  const held: Array<{ fd: number; release: () => void }> = [];
  mock.method(fs, 'fsync', (fd: number, done: (error: NodeJS.ErrnoException | null) => void) => {
    held.push({ fd, release: () => realFsync(fd, done) });
  });
  syncBuiltinESMExports();
  return held;
}

test("a write settles only after the store's fsync of the WAL file returns; SQLite itself does not sync", async () => {
  const held = holdFsyncs();
  const file = join(dir, 'journal.db');
  const db = new BetterSqlite3(file);
  const store = new SqliteJournalStore(db);
  assert.equal(db.pragma('synchronous', { simple: true }), 1, 'NORMAL: no fsync inside the commit');
  const journal = new Journal({ store, owner: 'me' });

  let settled = false;
  const id = journal.newId();
  const creating = journal.createClaimed({ kind: 'chat' }, id).then((result) => ((settled = true), result));
  await waitFor(() => held.length === 1, 'the fsync to be asked for');
  assert.equal(fstatSync(held[0]!.fd).ino, statSync(`${file}-wal`).ino, 'the file synced is the WAL');
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(settled, false, 'committed, but nobody is told before the fsync returns');

  held[0]!.release();
  assert.equal((await creating).created, true);
  assert.equal((await journal.get(id))?.status, 'running');
  await store.close();
});

test('close waits for the fsync in flight, then closes the WAL file and the database', async () => {
  const held = holdFsyncs();
  const db = new BetterSqlite3(join(dir, 'journal.db'));
  const store = new SqliteJournalStore(db);
  const journal = new Journal({ store, owner: 'me' });
  const creating = journal.createClaimed({ kind: 'chat' }, journal.newId());
  await waitFor(() => held.length === 1, 'the fsync to be asked for');
  let closed = false;
  const closing = store.close().then(() => (closed = true));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(closed, false, 'a write not yet durable holds the close');
  held[0]!.release();
  await closing;
  assert.equal((await creating).created, true);
  assert.equal(db.open, false);
});

test('SQLite keeps its own fsync without group commit, does none under NORMAL, and :memory: has no WAL to sync', async () => {
  const held = holdFsyncs();
  const cases: Array<[string, ConstructorParameters<typeof SqliteJournalStore>[1], number]> = [
    [join(dir, 'single.db'), { groupCommit: false }, 2],
    [join(dir, 'normal.db'), { synchronous: 'NORMAL' }, 1],
    [':memory:', {}, 2],
  ];
  for (const [where, options, synchronous] of cases) {
    const db = new BetterSqlite3(where);
    const store = new SqliteJournalStore(db, options);
    assert.equal(db.pragma('synchronous', { simple: true }), synchronous, `${where}: synchronous`);
    const journal = new Journal({ store, owner: 'me' });
    assert.equal((await journal.createClaimed({ kind: 'chat' }, journal.newId())).created, true);
    await store.close();
  }
  assert.equal(held.length, 0, 'the store made no fsync of its own in these modes');
});
