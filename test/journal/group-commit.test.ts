import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { GroupCommit } from 'breakwater/journal-sqlite';

// Writes queued in one turn of the event loop share one transaction; each must still stand or fall
// on its own — single statements without a savepoint, anything else inside one.
describe('GroupCommit: one transaction per batch, one outcome per write', () => {
  let db: Database;
  let commit: GroupCommit;
  const insert = (value: string) => () => db.prepare('INSERT INTO t (v) VALUES (?)').run(value);
  const values = () => (db.prepare('SELECT v FROM t ORDER BY v').all() as Array<{ v: string }>).map((r) => r.v);

  beforeEach(() => {
    db = new BetterSqlite3(':memory:');
    db.exec("CREATE TABLE t (v TEXT NOT NULL CHECK (v <> 'bad'))");
    commit = new GroupCommit(db);
  });
  afterEach(() => db.close());

  test('a failing statement, or a failing write of several, rolls back alone; the rest of the batch commits', async () => {
    const outcomes = await Promise.allSettled([
      commit.run(insert('a'), true),
      commit.run(insert('bad'), true),
      commit.run(() => {
        insert('half')();
        insert('bad')();
      }),
      commit.run(insert('d'), true),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
    );
    assert.equal(commit.batches, 1, 'one commit for the four writes');
    assert.deepEqual(values(), ['a', 'd'], "the several-statement write's first insert was rolled back with it");
  });

  test('an error that rolls the whole transaction back fails the whole batch, and no later write runs outside it', async () => {
    let ranAfter = false;
    const outcomes = await Promise.allSettled([
      commit.run(insert('a'), true),
      commit.run(() => {
        // What SQLite does on some errors (a full disk, an I/O error): the transaction is gone.
        db.exec('ROLLBACK');
        throw new Error('disk I/O error');
      }, true),
      commit.run(() => {
        ranAfter = true;
        return insert('c')();
      }, true),
    ]);
    assert.ok(
      outcomes.every((o) => o.status === 'rejected'),
      'nothing in the batch was written',
    );
    assert.equal(ranAfter, false, 'a write after the loss would have committed on its own');
    assert.deepEqual(values(), []);
    await commit.run(insert('later'), true);
    assert.deepEqual(values(), ['later'], 'the next batch commits normally');
  });
});
