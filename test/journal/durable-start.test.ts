import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { Errors, Journal, MemoryJournalStore, runOperation, type BreakwaterError, type Operation } from 'breakwater';
import { gatedStore } from '../support/gated-store.js';

const DEGRADE = { onJournalUnavailable: 'degrade', durableStart: false } as const;

/** Lets every pending promise callback run (the gate's, the store's, the journal's). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test('durableStart: false starts the work before its create lands, and writes the outcome after it', async () => {
  const gated = gatedStore();
  const journal = new Journal({ store: gated.store, owner: 'me' });
  let landedWhenWorkRan: boolean | undefined;
  let seen: Operation | undefined;
  const running = runOperation(
    journal,
    'chat',
    async (op) => {
      landedWhenWorkRan = gated.landed();
      seen = op.operation;
      return 'answer';
    },
    { ...DEGRADE, correlationId: 'early-1' },
  );
  await settle();
  assert.equal(landedWhenWorkRan, false, 'the work ran while the create was still waiting');
  assert.deepEqual(gated.calls, ['create deferrable=true'], 'no outcome written before the create landed');
  gated.open();
  assert.equal(await running, 'answer');
  assert.deepEqual(gated.calls, ['create deferrable=true', 'transition succeeded']);
  const row = await journal.get(seen!.id);
  assert.equal(row?.status, 'succeeded');
  assert.equal(row?.correlationId, 'early-1');
  assert.deepEqual(row?.result, 'answer');
});

test('durableStart: false records a failure after the create, and the caller gets the work’s own error', async () => {
  const gated = gatedStore();
  const journal = new Journal({ store: gated.store, owner: 'me' });
  let id: string | undefined;
  const running = runOperation(
    journal,
    'chat',
    async (op) => {
      id = op.operation.id;
      throw Errors.timeout({ message: 'slow upstream' });
    },
    DEGRADE,
  );
  await settle();
  gated.open();
  await assert.rejects(running, (error: BreakwaterError) => error.code === 'OPERATION_TIMEOUT');
  assert.equal((await journal.get(id!))?.status, 'failed');
});

test('durableStart: false with a store that cannot take the create: the outcome waits in the outbox, nothing is lost', async () => {
  for (const outcome of ['success', 'failure'] as const) {
    const gated = gatedStore();
    const journal = new Journal({ store: gated.store, owner: 'me' });
    const running = runOperation(
      journal,
      'chat',
      async () => {
        if (outcome === 'failure') throw new TypeError('the work broke');
        return 'answer';
      },
      DEGRADE,
    );
    gated.fail(Object.assign(new Error('SQLITE_IOERR: disk I/O error'), { code: 'SQLITE_IOERR' }));
    if (outcome === 'success') assert.equal(await running, 'answer', 'a delivered answer is not turned into a failure');
    else await assert.rejects(running, /the work broke/, "the work's error, not JOURNAL_UNAVAILABLE");
    assert.equal(journal.health().deferred, 1, `the ${outcome} waits in the outbox`);
    assert.deepEqual(gated.calls, ['create deferrable=true'], 'no terminal write for a row that does not exist');
  }
});

test('the lease is renewed only once the row exists (a renewal before it would find nothing and lose the lease)', async () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const gated = gatedStore();
    const journal = new Journal({ store: gated.store, owner: 'me', leaseMs: 300 });
    let finish!: () => void;
    let signal: AbortSignal | undefined;
    const running = runOperation(
      journal,
      'chat',
      async (op) => {
        signal = op.signal;
        await new Promise<void>((resolve) => (finish = resolve));
        return 'late answer';
      },
      DEGRADE,
    );
    await settle();
    mock.timers.tick(1_000);
    await settle();
    assert.deepEqual(gated.calls, ['create deferrable=true'], 'no renewal while the create is waiting');
    assert.equal(signal?.aborted, false);
    gated.open();
    await settle();
    mock.timers.tick(100);
    await settle();
    assert.deepEqual(gated.calls, ['create deferrable=true', 'transition running'], 'renewed once the row exists');
    finish();
    assert.equal(await running, 'late answer');
    assert.equal(signal?.aborted, false, 'the lease was never lost');
  } finally {
    mock.timers.reset();
  }
});

test('durableStart: false is refused where the work must wait for its row', async () => {
  const journal = new Journal({ store: new MemoryJournalStore() });
  const work = async () => 1;
  await assert.rejects(runOperation(journal, 'chat', work, { durableStart: false }), /durableStart/);
  await assert.rejects(
    runOperation(journal, 'chat', work, { ...DEGRADE, idempotencyKey: 'k' }),
    /idempotencyKey/,
    'an idempotency key: the create decides whether the work runs',
  );
  await assert.rejects(
    runOperation(journal, 'chat', work, { ...DEGRADE, join: () => undefined }),
    /join/,
    'a joined write is always fail-closed',
  );
});
