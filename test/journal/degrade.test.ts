import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Journal, MemoryJournalStore, runOperation, type BreakwaterError, type JournalStore } from 'breakwater';
import { SqliteJournalStore } from 'breakwater/journal-sqlite';

type Flaky = JournalStore<undefined> & { down: boolean; terminalDown: boolean; stalled: boolean };
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * A store whose every call fails while `down` is set (a journal disk or database outage), whose
 * terminal writes alone fail while `terminalDown` is set, and which never answers while `stalled`.
 */
function flaky(store: JournalStore<undefined>): Flaky {
  const wrapper = { down: false, terminalDown: false, stalled: false, name: 'flaky' } as Flaky;
  for (const method of [
    'create',
    'transition',
    'get',
    'findByIdempotencyKey',
    'query',
    'expiredLeases',
    'close',
  ] as const) {
    (wrapper as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      if (wrapper.stalled) return new Promise(() => {});
      const terminal = method === 'transition' && TERMINAL.has(args[2] as string);
      return wrapper.down || (wrapper.terminalDown && terminal)
        ? Promise.reject(Object.assign(new Error('SQLITE_IOERR: disk I/O error'), { code: 'SQLITE_IOERR' }))
        : (store[method] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
    };
  }
  return wrapper;
}

test('fail-closed (default): a down journal stops the work with JOURNAL_UNAVAILABLE', async () => {
  const store = flaky(new MemoryJournalStore());
  const journal = new Journal({ store });
  store.down = true;
  let ran = false;
  await assert.rejects(
    runOperation(journal, 'chat', async () => {
      ran = true;
    }),
    (error: BreakwaterError) => error.code === 'JOURNAL_UNAVAILABLE' && error.status === 503 && error.retryable,
  );
  assert.equal(ran, false);
  assert.equal(journal.health().status, 'fail');
});

test('degrade: the work runs, the outcome waits in the outbox, and is written when the store is back', async () => {
  const store = flaky(new MemoryJournalStore());
  const journal = new Journal({ store });
  store.down = true;
  const value = await runOperation(journal, 'chat', async () => 'answer', {
    onJournalUnavailable: 'degrade',
    correlationId: 'd1',
  });
  assert.equal(value, 'answer');
  await assert.rejects(
    runOperation(
      journal,
      'chat',
      async () => {
        throw Object.assign(new Error('key sk-proj-degradeSECRET12345 rejected'), { status: 401, headers: {} });
      },
      { onJournalUnavailable: 'degrade', correlationId: 'd2' },
    ),
  );
  assert.equal(journal.health().deferred, 2);
  assert.equal(await journal.flushOutbox(), 0, 'still down: nothing written, nothing lost');
  store.down = false;
  assert.equal(await journal.flushOutbox(), 2);
  const [ok] = await journal.query({ correlationId: 'd1' });
  assert.equal(ok?.status, 'succeeded');
  assert.equal(ok?.result, 'answer');
  const [failed] = await journal.query({ correlationId: 'd2' });
  assert.equal(failed?.status, 'failed');
  assert.equal(failed?.errorCode, 'UPSTREAM_AUTH_FAILED');
  assert.ok(!JSON.stringify(failed).includes('degradeSECRET'));
  assert.equal(journal.health().deferred, 0);
});

// An operation whose work runs an operation of its own (an agent's journaled tool): the inner one
// fails closed while the store is down, and that failure is the outer work's, recorded like any
// other — in the outbox while the store is down, as a row once it is back. Not dropped.
test("degrade: a work's own journal error is its failure, kept in the outbox and then recorded", async () => {
  const store = flaky(new MemoryJournalStore());
  const journal = new Journal({ store });
  const nested = () =>
    runOperation(journal, 'outer', () => runOperation(journal, 'inner', async () => 'tool result'), {
      onJournalUnavailable: 'degrade',
      correlationId: 'outer-1',
    });
  store.down = true;
  await assert.rejects(nested(), (error: BreakwaterError) => error.code === 'JOURNAL_UNAVAILABLE');
  assert.equal(journal.health().deferred, 1, "the outer operation's failure waits in the outbox");
  store.down = false;
  assert.equal(await journal.flushOutbox(), 1);
  const [outer] = await journal.query({ correlationId: 'outer-1' });
  assert.equal(outer?.status, 'failed');
  assert.equal(outer?.errorCode, 'JOURNAL_UNAVAILABLE');
});

test("a work's own journal error (another journal, down) is recorded as its failure, not left running", async () => {
  const journal = new Journal({ store: new MemoryJournalStore() });
  const downStore = flaky(new MemoryJournalStore());
  downStore.down = true;
  const toolJournal = new Journal({ store: downStore });
  for (const options of [{}, { onJournalUnavailable: 'degrade' as const, waitForRecord: false }]) {
    const correlationId = `outer-up-${Object.keys(options).length}`;
    await assert.rejects(
      runOperation(journal, 'outer', () => runOperation(toolJournal, 'tool', async () => 'x'), {
        ...options,
        correlationId,
      }),
      (error: BreakwaterError) => error.code === 'JOURNAL_UNAVAILABLE',
    );
    const [outer] = await eventuallyRow(journal, correlationId);
    assert.equal(outer?.status, 'failed');
    assert.equal(outer?.errorCode, 'JOURNAL_UNAVAILABLE');
  }
});

async function eventuallyRow(journal: Journal<unknown>, correlationId: string) {
  // With waitForRecord: false the outcome is written after the call settles.
  for (let i = 0; i < 100; i++) {
    const rows = await journal.query({ correlationId });
    if (rows[0]?.status !== 'running') return rows;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return journal.query({ correlationId });
}

test('degrade never applies to a call with a joined write (its atomicity needs the store)', async () => {
  const store = flaky(new MemoryJournalStore());
  const journal = new Journal({ store });
  store.down = true;
  await assert.rejects(
    runOperation(journal, 'chat', async () => 1, { onJournalUnavailable: 'degrade', join: () => undefined }),
    (error: BreakwaterError) => error.code === 'JOURNAL_UNAVAILABLE',
  );
});

test('a failed terminal write never turns a delivered answer into a failure; the sweeper waits for the outbox', async () => {
  let now = 1_000_000;
  const store = flaky(new MemoryJournalStore());
  const journal = new Journal({ store, leaseMs: 1_000, now: () => now });
  store.terminalDown = true;
  assert.equal(
    await runOperation(journal, 'chat', async () => 'paid-for answer', { correlationId: 't1' }),
    'paid-for answer',
  );
  const upstream = Object.assign(new Error('upstream 500'), { status: 500, headers: {} });
  await assert.rejects(
    runOperation(journal, 'chat', async () => Promise.reject(upstream), { correlationId: 't2' }),
    (error: BreakwaterError) => error.category === 'upstream_server' && error.code !== 'JOURNAL_UNAVAILABLE',
    'the real failure reaches the caller, not JOURNAL_UNAVAILABLE',
  );
  assert.equal(journal.health().deferred, 2);
  now += 5_000; // both leases expired long ago
  assert.equal(await journal.sweep(), 0, 'an outcome in the outbox is not abandoned');
  store.terminalDown = false;
  assert.equal(await journal.flushOutbox(), 2);
  assert.equal((await journal.query({ correlationId: 't1' }))[0]?.status, 'succeeded');
  const failed = (await journal.query({ correlationId: 't2' }))[0];
  assert.equal(failed?.status, 'failed');
  assert.equal(failed?.errorCategory, 'upstream_server');
});

test('a stalled store fails within writeTimeoutMs instead of holding the caller', async () => {
  const store = flaky(new MemoryJournalStore());
  const journal = new Journal({ store, writeTimeoutMs: 50 });
  store.stalled = true;
  await assert.rejects(
    runOperation(journal, 'chat', async () => 1),
    (error: BreakwaterError) => error.code === 'JOURNAL_UNAVAILABLE',
  );
  assert.equal(await runOperation(journal, 'chat', async () => 2, { onJournalUnavailable: 'degrade' }), 2);
});

// SQLite's driver blocks rather than leaving a promise pending, and its group commit waits at most
// successCommitDelayMs: no timer per write. A success that waits longer than writeTimeoutMs for its
// shared commit is still recorded (with a deadline per write, it failed as JOURNAL_UNAVAILABLE).
test('a synchronous store (SQLite) sets no write deadline: a success deferred past writeTimeoutMs commits', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
  t.after(() => mock.timers.reset());
  const db = new BetterSqlite3(':memory:');
  t.after(() => db.close());
  const journal = new Journal({ store: new SqliteJournalStore(db, { successCommitDelayMs: 50 }), writeTimeoutMs: 10 });
  const created = journal.createClaimed({ kind: 'chat' });
  mock.timers.tick(0);
  const { operation } = await created;
  let outcome: string | undefined;
  void journal.succeed(operation.id, { ok: true }, 1).then(
    (row) => (outcome = row?.status),
    (error: BreakwaterError) => (outcome = error.code),
  );
  mock.timers.tick(10);
  await new Promise((resolve) => queueMicrotask(() => resolve(undefined)));
  assert.equal(outcome, undefined, 'still waiting for its commit, not cut at writeTimeoutMs');
  mock.timers.tick(40);
  await new Promise((resolve) => queueMicrotask(() => resolve(undefined)));
  await new Promise((resolve) => queueMicrotask(() => resolve(undefined)));
  assert.equal(outcome, 'succeeded');
  assert.equal((await journal.get(operation.id))?.status, 'succeeded');
});

test('health follows the latest answer of the store: recovery shows at the next successful call', async () => {
  const store = flaky(new MemoryJournalStore());
  const journal = new Journal({ store });
  store.down = true;
  await assert.rejects(journal.ping());
  assert.equal(journal.health().status, 'fail');
  store.down = false;
  await journal.ping();
  assert.equal(journal.health().status, 'pass');
});
