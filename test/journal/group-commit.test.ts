import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { GroupCommit, SqliteJournalStore } from 'breakwater/journal-sqlite';
import { Errors, Journal } from 'breakwater';

const ONE = { oneStatement: true };
const DEFERRABLE = { oneStatement: true, deferrable: true };

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
      commit.run(insert('a'), ONE),
      commit.run(insert('bad'), ONE),
      commit.run(() => {
        insert('half')();
        insert('bad')();
      }),
      commit.run(insert('d'), ONE),
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
      commit.run(insert('a'), ONE),
      commit.run(() => {
        // What SQLite does on some errors (a full disk, an I/O error): the transaction is gone.
        db.exec('ROLLBACK');
        throw new Error('disk I/O error');
      }, ONE),
      commit.run(() => {
        ranAfter = true;
        return insert('c')();
      }, ONE),
    ]);
    assert.ok(
      outcomes.every((o) => o.status === 'rejected'),
      'nothing in the batch was written',
    );
    assert.equal(ranAfter, false, 'a write after the loss would have committed on its own');
    assert.deepEqual(values(), []);
    await commit.run(insert('later'), ONE);
    assert.deepEqual(values(), ['later'], 'the next batch commits normally');
  });
});

// Under steady traffic writes arrive one per turn of the event loop; a write nobody waits on
// (an operation's last) rides along with the next commit instead of paying an fsync of its own.
describe('GroupCommit: deferrable writes share the next commit', () => {
  let db: Database;
  const insert = (value: string) => () => db.prepare('INSERT INTO t (v) VALUES (?)').run(value);
  const committed = () => (db.prepare('SELECT v FROM t ORDER BY v').all() as Array<{ v: string }>).map((r) => r.v);
  const settled = (promise: Promise<unknown>) => {
    const state = { done: false };
    void promise.then(() => (state.done = true));
    return state;
  };
  const turn = () => new Promise<void>((resolve) => queueMicrotask(resolve));

  beforeEach(() => {
    db = new BetterSqlite3(':memory:');
    db.exec('CREATE TABLE t (v TEXT NOT NULL)');
    mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
  });
  afterEach(() => {
    mock.timers.reset();
    db.close();
  });

  test('alone, a deferrable write commits when its wait runs out, and its promise settles only then', async () => {
    const commit = new GroupCommit(db, { deferMs: 20 });
    const finishing = settled(commit.run(insert('last'), DEFERRABLE));
    mock.timers.tick(19);
    await turn();
    assert.deepEqual(committed(), [], 'not committed before its wait ran out');
    assert.equal(finishing.done, false, 'nobody is told it is durable before it is');
    mock.timers.tick(1);
    await turn();
    assert.deepEqual(committed(), ['last']);
    assert.equal(finishing.done, true);
    assert.equal(commit.batches, 1);
  });

  test('an ordinary write commits at once and takes the waiting deferrable writes with it', async () => {
    const commit = new GroupCommit(db, { deferMs: 20 });
    const first = settled(commit.run(insert('a-last'), DEFERRABLE));
    mock.timers.tick(5);
    const created = settled(commit.run(insert('b-create'), ONE));
    mock.timers.tick(0);
    await turn();
    assert.deepEqual(committed(), ['a-last', 'b-create'], 'one commit for both');
    assert.equal(commit.batches, 1);
    assert.equal(first.done && created.done, true);
    mock.timers.tick(20);
    assert.equal(commit.batches, 1, 'the deferrable wait was cancelled: no empty commit');
  });

  test('flush (close) commits deferrable writes at once', async () => {
    const commit = new GroupCommit(db, { deferMs: 60_000 });
    const finishing = settled(commit.run(insert('last'), DEFERRABLE));
    commit.flush();
    await turn();
    assert.deepEqual(committed(), ['last']);
    assert.equal(finishing.done, true);
  });

  test('without deferMs a deferrable write commits in its own turn like any other', async () => {
    const commit = new GroupCommit(db);
    const finishing = settled(commit.run(insert('last'), DEFERRABLE));
    mock.timers.tick(0);
    await turn();
    assert.equal(finishing.done, true);
    assert.throws(() => new GroupCommit(db, { deferMs: -1 }), /deferMs/);
  });

  test('the SQLite store defers only the write of a success: a create or a failure commits at once', async () => {
    const store = new SqliteJournalStore(db, { successCommitDelayMs: 20 });
    const journal = new Journal({ store, owner: 'me' });
    const done = await commitOf(journal.createClaimed({ kind: 'chat' }, journal.newId()));
    const finishing = settled(journal.markSucceeded(done.operation.id, { ok: true }, 1));
    mock.timers.tick(0);
    await turn();
    assert.equal(finishing.done, false);
    assert.equal((await journal.get(done.operation.id))?.status, 'running', 'readers see it running meanwhile');
    const batches = store.batches;
    await commitOf(journal.createClaimed({ kind: 'chat' }, journal.newId()));
    assert.equal(store.batches, batches + 1, 'the next create and the waiting success: one commit');
    await turn();
    assert.equal(finishing.done, true);
    assert.equal((await journal.get(done.operation.id))?.status, 'succeeded');

    const failing = await commitOf(journal.createClaimed({ kind: 'chat' }, journal.newId()));
    const recorded = await commitOf(journal.markFailed(failing.operation.id, Errors.timeout({ message: 'slow' }), 1));
    assert.equal(recorded, true, 'a failure commits in its own turn: the caller answers with it');
    assert.equal((await journal.get(failing.operation.id))?.status, 'failed');
  });

  test("a create nobody waits on (runOperation's durableStart: false) waits like a success and shares a later commit", async () => {
    const store = new SqliteJournalStore(db, { successCommitDelayMs: 20 });
    const journal = new Journal({ store, owner: 'me' });
    const id = journal.newId();
    const creating = settled(journal.createClaimed({ kind: 'chat' }, id, { deferrable: true }));
    mock.timers.tick(0);
    await turn();
    assert.equal(creating.done, false, 'not committed in its own turn');
    assert.equal(await journal.get(id), undefined, 'readers do not see it yet');
    const batches = store.batches;
    await commitOf(journal.createClaimed({ kind: 'chat' }, journal.newId()));
    assert.equal(store.batches, batches + 1, 'an ordinary create and the waiting one: one commit');
    await turn();
    assert.equal(creating.done, true);
    assert.equal((await journal.get(id))?.status, 'running');

    const alone = journal.newId();
    const waiting = settled(journal.createClaimed({ kind: 'chat' }, alone, { deferrable: true }));
    mock.timers.tick(19);
    await turn();
    assert.equal(waiting.done, false);
    mock.timers.tick(1);
    await turn();
    assert.equal(waiting.done, true, 'alone, it commits when its wait runs out');
    assert.equal((await journal.get(alone))?.status, 'running');
  });

  /** A journal write's promise, with the turn that commits it run. */
  async function commitOf<T>(write: Promise<T>): Promise<T> {
    mock.timers.tick(0);
    return write;
  }
});

// With `durable`, a commit is followed by an fsync off the event loop (the SQLite store's WAL sync);
// a write's promise settles only once the fsync covering its commit has returned.
describe('GroupCommit: durable — writes settle after the sync that covers their commit', () => {
  let db: Database;
  const insert = (value: string) => () => db.prepare('INSERT INTO t (v) VALUES (?)').run(value);
  const committed = () => (db.prepare('SELECT v FROM t ORDER BY v').all() as Array<{ v: string }>).map((r) => r.v);
  const states = (promises: Array<Promise<unknown>>) =>
    promises.map((promise) => {
      const state = { status: 'pending' as 'pending' | 'fulfilled' | 'rejected', reason: undefined as unknown };
      promise.then(
        () => (state.status = 'fulfilled'),
        (reason: unknown) => Object.assign(state, { status: 'rejected', reason }),
      );
      return state;
    });
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  /** A disk whose syncs finish when the test says so. */
  const disk = () => {
    const calls: Array<(error: Error | null) => void> = [];
    return { calls, durable: (done: (error: Error | null) => void) => void calls.push(done) };
  };

  beforeEach(() => {
    db = new BetterSqlite3(':memory:');
    db.exec('CREATE TABLE t (v TEXT NOT NULL)');
  });
  afterEach(() => db.close());

  test('a committed write stays pending until its sync returns; batches committed meanwhile share the next sync, in order', async () => {
    const { calls, durable } = disk();
    const commit = new GroupCommit(db, { durable });
    const [a] = states([commit.run(insert('a'), ONE)]);
    await turn();
    assert.deepEqual(committed(), ['a'], 'committed in its turn');
    assert.equal(calls.length, 1, 'one sync started');
    assert.equal(a!.status, 'pending', 'nobody is told it is durable before the sync returns');

    const [b, c] = states([commit.run(insert('b'), ONE), commit.run(insert('c'), ONE)]);
    await turn();
    const [d] = states([commit.run(insert('d'), ONE)]);
    await turn();
    assert.equal(commit.batches, 3);
    assert.equal(calls.length, 1, 'one sync at a time: the two later batches wait for the next');

    calls[0]!(null);
    await turn();
    assert.equal(a!.status, 'fulfilled');
    assert.deepEqual([b!.status, c!.status, d!.status], ['pending', 'pending', 'pending']);
    assert.equal(calls.length, 2, 'the next sync covers both batches committed meanwhile');
    calls[1]!(null);
    await turn();
    assert.deepEqual([b!.status, c!.status, d!.status], ['fulfilled', 'fulfilled', 'fulfilled']);
    await commit.idle();
  });

  test('a sync that fails rejects every write it covers, even those that committed; a write that failed keeps its own error', async () => {
    const { calls, durable } = disk();
    const commit = new GroupCommit(db, { durable });
    db.exec("CREATE TABLE u (v TEXT CHECK (v <> 'bad'))");
    const [ok, bad] = states([
      commit.run(insert('a'), ONE),
      commit.run(() => db.prepare('INSERT INTO u (v) VALUES (?)').run('bad'), ONE),
    ]);
    await turn();
    calls[0]!(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    await turn();
    assert.equal(ok!.status, 'rejected');
    assert.match(String(ok!.reason), /EIO/, 'its commit is not known to be on disk');
    assert.equal(bad!.status, 'rejected');
    assert.match(String(bad!.reason), /EIO|CHECK/);
  });

  test('a disk that stops answering fails the waiting writes after durableTimeoutMs; a sync that progresses never does', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
    try {
      const { calls, durable } = disk();
      const commit = new GroupCommit(db, { durable, durableTimeoutMs: 1_000 });
      // Steady traffic with a disk that answers: a batch every 400 ms, committed while the sync
      // before it still runs — something always waits, for four seconds, yet no wait is long.
      const steady = states([commit.run(insert('s0'), ONE)]);
      mock.timers.tick(0);
      for (let i = 1; i <= 10; i++) {
        steady.push(...states([commit.run(insert(`s${i}`), ONE)]));
        mock.timers.tick(0);
        mock.timers.tick(300);
        calls.at(-1)!(null);
        mock.timers.tick(100);
      }
      calls.at(-1)!(null);
      await Promise.resolve();
      assert.ok(
        steady.every((s) => s.status === 'fulfilled'),
        'four seconds of syncs, none stuck: nothing timed out',
      );

      const [stuck] = states([commit.run(insert('stuck'), ONE)]);
      mock.timers.tick(0);
      const [later] = states([commit.run(insert('later'), ONE)]);
      mock.timers.tick(0);
      mock.timers.tick(999);
      await Promise.resolve();
      assert.equal(stuck!.status, 'pending');
      mock.timers.tick(1);
      await Promise.resolve();
      assert.equal(stuck!.status, 'rejected');
      assert.match(String(stuck!.reason), /did not finish within 1000 ms/);
      assert.equal(later!.status, 'rejected', 'the batch waiting behind the stuck sync fails with it');
      await commit.idle();
      calls.at(-1)!(null); // the disk answers at last: nothing is settled twice
      assert.throws(() => new GroupCommit(db, { durableTimeoutMs: 0 }), /durableTimeoutMs/);
    } finally {
      mock.timers.reset();
    }
  });
});
