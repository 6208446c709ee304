import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import fc from 'fast-check';
import { SqliteJournalStore } from 'breakwater/journal-sqlite';
import {
  Errors,
  Journal,
  runOperation,
  type Operation,
  type OperationStatus,
  type TransitionGuard,
  type TransitionPatch,
} from 'breakwater';

// An operation whose create waits for a shared commit (runOperation's `durableStart: false`) often
// ends before that commit: its outcome is then written as part of the create — one row inserted as
// it ends up, instead of a row and its update — and shares the create's fate.

const STATUSES: OperationStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];
/** Rows written by this connection so far: an insert and an update of one row are two. */
const changes = (db: Database): number => (db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;

describe('SqliteJournalStore.applyWithCreate', () => {
  let db: Database;
  let store: SqliteJournalStore;
  const input = (id: string) => ({
    id,
    kind: 'chat',
    createdAt: 1_000,
    correlationId: 'corr-1',
    metadata: { route: 'r' },
    claim: { owner: 'me', leaseExpiresAt: 61_000 },
  });
  const success: TransitionPatch = {
    attempts: 2,
    result: { text: 'hi' },
    finishedAt: 1_500,
    leaseOwner: null,
    leaseExpiresAt: null,
  };
  const mine: TransitionGuard = { from: ['running'], leaseOwner: 'me' };

  beforeEach(() => {
    db = new BetterSqlite3(':memory:');
    store = new SqliteJournalStore(db, { successCommitDelayMs: 1 });
  });
  afterEach(() => db.close());

  test('an outcome written while its create waits is inserted with it: one row written, as it ends up', async () => {
    const before = changes(db);
    const creating = store.create(input('a'), { deferrable: true });
    const finishing = store.applyWithCreate('a', mine, 'succeeded', () => success);
    assert.ok(finishing, 'the create is still queued: the outcome joins it');
    const [created, applied] = await Promise.all([creating, finishing]);
    assert.equal(created.created, true);
    assert.equal(created.operation.status, 'running', 'the create answers with the row it created');
    assert.equal(applied, true);
    assert.equal(changes(db) - before, 1, 'one insert, no update');
    const row = await store.get('a');
    assert.equal(row?.status, 'succeeded');
    assert.deepEqual(row?.result, { text: 'hi' });
    assert.equal(row?.attempts, 2);
    assert.equal(row?.leaseOwner, null);
    assert.deepEqual(row?.metadata, { route: 'r' }, 'what the create wrote stays');
    assert.equal(row?.correlationId, 'corr-1');
  });

  test('nothing is merged into a create that has landed, or was never queued here: the caller writes later', async () => {
    await store.create(input('b'), { deferrable: true });
    let asked = false;
    const patch = () => ((asked = true), success);
    assert.equal(store.applyWithCreate('b', mine, 'succeeded', patch), undefined);
    assert.equal(store.applyWithCreate('nope', mine, 'succeeded', patch), undefined);
    assert.equal(asked, false, 'the patch (redaction and all) is not even built');
    assert.equal((await store.get('b'))?.status, 'running', 'nothing was written');
  });

  test('an outcome the queued row does not pass (another owner) is not merged, and nothing is written', async () => {
    const creating = store.create(input('c'), { deferrable: true });
    assert.equal(
      store.applyWithCreate('c', { from: ['running'], leaseOwner: 'other' }, 'succeeded', () => success),
      undefined,
    );
    assert.equal(
      store.applyWithCreate('c', { from: ['pending'] }, 'cancelled', () => ({})),
      undefined,
    );
    await creating;
    assert.equal((await store.get('c'))?.status, 'running');
  });

  test('a write queued after the create ends merging: no later outcome overtakes it', async () => {
    const creating = store.create(input('d'), { deferrable: true });
    const renewing = store.apply('d', mine, 'running', { leaseExpiresAt: 99_000 });
    assert.equal(
      store.applyWithCreate('d', mine, 'succeeded', () => success),
      undefined,
    );
    await Promise.all([creating, renewing]);
    assert.equal((await store.get('d'))?.leaseExpiresAt, 99_000);
  });

  test('a create that fails takes the outcome merged into it down, with the same error', async () => {
    await store.create(input('e'));
    // The same id again: the insert conflicts and finds no row of the same idempotency key.
    const creating = store.create(input('e'), { deferrable: true });
    const finishing = store.applyWithCreate('e', mine, 'succeeded', () => success);
    assert.ok(finishing);
    const [created, finished] = await Promise.allSettled([creating, finishing]);
    assert.equal(created.status, 'rejected');
    assert.equal(finished.status, 'rejected');
    assert.equal((finished as PromiseRejectedResult).reason, (created as PromiseRejectedResult).reason);
    assert.equal((await store.get('e'))?.status, 'running', 'the first row is untouched');
  });

  test('a batch rolled back before the create ran fails the create and its outcome alike; nothing is left queued', async () => {
    await store.create(input('first'));
    // What an I/O error at commit does, made here by a joined write that ends the transaction: the
    // batch is lost and the writes queued behind it never run.
    const breaking = store.apply('first', mine, 'running', {}, (tx) => tx.exec('ROLLBACK'));
    const creating = store.create(input('f'), { deferrable: true });
    const finishing = store.applyWithCreate('f', mine, 'succeeded', () => success)!;
    const [, created, finished] = await Promise.allSettled([breaking, creating, finishing]);
    assert.equal(created.status, 'rejected');
    assert.equal(finished.status, 'rejected');
    assert.equal((finished as PromiseRejectedResult).reason, (created as PromiseRejectedResult).reason);
    // Nothing to merge into any more (a guard the merged row would pass): the entry did not leak.
    assert.equal(
      store.applyWithCreate('f', { from: ['succeeded'] }, 'failed', () => ({})),
      undefined,
    );
    assert.equal(await store.get('f'), undefined);
  });

  // Model check: whatever outcomes are written while the create waits — merged, or (when the store
  // declines) queued as ordinary writes behind it — every write answers as it would have and the row
  // ends as it would have after the same insert and updates, one by one, on a store that merges nothing.
  test('merged or not, each write answers and the row ends as with an insert and then each update in turn', async () => {
    const text = fc.option(fc.string({ maxLength: 8 }), { nil: null });
    const time = fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: null });
    const patch = fc.record(
      {
        attempts: fc.integer({ min: 0, max: 9 }),
        errorCategory: text,
        errorCode: text,
        errorMessage: text,
        errorOrigin: text,
        result: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: null }),
        startedAt: time,
        finishedAt: time,
        leaseOwner: fc.option(fc.constantFrom('me', 'other'), { nil: null }),
        leaseExpiresAt: time,
      },
      { requiredKeys: [] },
    ) as fc.Arbitrary<TransitionPatch>;
    const write = fc.record({
      to: fc.constantFrom(...STATUSES),
      from: fc.subarray(STATUSES, { minLength: 1 }),
      owner: fc.option(fc.constantFrom('me', 'other'), { nil: undefined }),
      patch,
      merge: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(write, { maxLength: 5 }), async (claimed, writes) => {
        const merging = new SqliteJournalStore(new BetterSqlite3(':memory:'), { successCommitDelayMs: 1 });
        const plain = new SqliteJournalStore(new BetterSqlite3(':memory:'));
        try {
          const row = { ...input('m'), claim: claimed ? input('m').claim : undefined };
          const created = [merging.create(row, { deferrable: true }), plain.create(row)];
          const answers = writes.map((w) => {
            const guard: TransitionGuard =
              w.owner === undefined ? { from: w.from } : { from: w.from, leaseOwner: w.owner };
            const merged = w.merge ? merging.applyWithCreate('m', guard, w.to, () => w.patch) : undefined;
            return [merged ?? merging.apply('m', guard, w.to, w.patch), plain.apply('m', guard, w.to, w.patch)];
          });
          await Promise.all(created);
          for (const [got, expected] of answers) assert.equal(await got, await expected);
          const normal = (op: Operation | undefined) => op && JSON.parse(JSON.stringify(op));
          assert.deepEqual(normal(await merging.get('m')), normal(await plain.get('m')));
        } finally {
          await merging.close();
          await plain.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe("runOperation with durableStart: false on SQLite: the outcome joins its create's commit", () => {
  const DEGRADE = { onJournalUnavailable: 'degrade', durableStart: false } as const;

  test('a call that ends before its create commits is recorded in one row written once', async () => {
    const db = new BetterSqlite3(':memory:');
    const journal = new Journal({ store: new SqliteJournalStore(db, { successCommitDelayMs: 5 }), owner: 'me' });
    try {
      const before = changes(db);
      let id = '';
      const value = await runOperation(journal, 'chat', async (op) => ((id = op.operation.id), 'answer'), DEGRADE);
      assert.equal(value, 'answer');
      assert.equal(changes(db) - before, 1);
      const row = await journal.get(id);
      assert.equal(row?.status, 'succeeded');
      assert.equal(row?.result, 'answer');
      const failing = runOperation(
        journal,
        'chat',
        async () => {
          throw Errors.timeout({ message: 'slow' });
        },
        DEGRADE,
      );
      await assert.rejects(failing, { code: 'OPERATION_TIMEOUT' });
      const [failed] = await journal.query({ status: 'failed' });
      assert.equal(failed?.errorCode, 'OPERATION_TIMEOUT');
      assert.equal(changes(db) - before, 2, 'the failure too: one row, written once');
    } finally {
      await journal.close();
    }
  });

  test('on a full disk the create and its merged outcome fail together: the outcome waits in the outbox, health says fail', async () => {
    const db = new BetterSqlite3(':memory:');
    const journal = new Journal({ store: new SqliteJournalStore(db, { successCommitDelayMs: 5 }), owner: 'me' });
    try {
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
      let id = '';
      const value = await runOperation(journal, 'chat', async (op) => ((id = op.operation.id), 'x'.repeat(20_000)), {
        ...DEGRADE,
        metadata: { pad: 'y'.repeat(20_000) },
      });
      assert.equal(value.length, 20_000, 'the caller has its answer');
      const health = journal.health();
      assert.equal(health.status, 'fail');
      assert.equal(health.deferred, 1, 'the outcome waits in the outbox');
      db.pragma('max_page_count = 1000000');
      assert.equal(await journal.flushOutbox(), 1);
      assert.equal((await journal.get(id))?.status, 'succeeded', 'written once the disk has room');
    } finally {
      await journal.close();
    }
  });
});
