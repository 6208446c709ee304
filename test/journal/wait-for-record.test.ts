import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  Errors,
  Journal,
  MemoryJournalStore,
  runOperation,
  type BreakwaterError,
  type JournalStore,
  type RunOperationOptions,
} from 'breakwater';
import { finishedElsewhereStore } from '../support/finished-elsewhere-store.js';
import { gatedStore } from '../support/gated-store.js';

// A full collection on demand, to show what the journal still holds while a record waits.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const BACKGROUND = { onJournalUnavailable: 'degrade', durableStart: false, waitForRecord: false } as const;

/** Lets every pending promise callback run (the gate's, the store's, the journal's). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test('waitForRecord: false settles with the answer before its create and outcome are written; both land after', async () => {
  const gated = gatedStore();
  const journal = new Journal({ store: gated.store, owner: 'me' });
  let id: string | undefined;
  const answer = await runOperation(
    journal,
    'chat',
    async (op) => {
      id = op.operation.id;
      return 'answer';
    },
    BACKGROUND,
  );
  assert.equal(answer, 'answer');
  assert.equal(gated.landed(), false, 'the caller had its answer while the create was still waiting');
  assert.deepEqual(gated.calls, ['create deferrable=true']);
  gated.open();
  await settle();
  assert.deepEqual(gated.calls, ['create deferrable=true', 'transition succeeded']);
  assert.equal((await journal.get(id!))?.status, 'succeeded');
});

test('waitForRecord: false rejects with the work’s own error at once, and records the failure after', async () => {
  const gated = gatedStore();
  const journal = new Journal({ store: gated.store, owner: 'me' });
  let id: string | undefined;
  await assert.rejects(
    runOperation(
      journal,
      'chat',
      async (op) => {
        id = op.operation.id;
        throw Errors.timeout({ message: 'slow upstream' });
      },
      BACKGROUND,
    ),
    (error: BreakwaterError) => error.code === 'OPERATION_TIMEOUT',
  );
  assert.equal(gated.landed(), false);
  gated.open();
  await settle();
  assert.equal((await journal.get(id!))?.status, 'failed');
});

/** Starts an operation whose work holds a large object; only the work refers to it. */
function startHolding(journal: Journal, options: RunOperationOptions<string, unknown>) {
  const payload = { text: 'x'.repeat(1_000_000) };
  const held = new WeakRef(payload);
  const running = runOperation(journal, 'chat', async () => (payload.text.length > 0 ? 'answer' : ''), options);
  return { running, held };
}

for (const waitForRecord of [true, false]) {
  test(`nothing of the work is held while its record waits for a commit (waitForRecord: ${waitForRecord})`, async () => {
    const gated = gatedStore();
    const journal = new Journal({ store: gated.store, owner: 'me' });
    const { running, held } = startHolding(journal, { ...BACKGROUND, waitForRecord });
    // The work is done; its create (and so its outcome) still waits at the gate.
    await settle();
    for (let i = 0; i < 3; i++) {
      collectGarbage();
      await settle();
    }
    assert.equal(held.deref(), undefined, 'what the work held was collected before the record was written');
    gated.open();
    assert.equal(await running, 'answer');
  });
}

test('waitForRecord: false hands a success that could not be recorded to onRecordError; the caller keeps its answer', async () => {
  const journal = new Journal({ store: finishedElsewhereStore(), owner: 'me' });
  const errors: BreakwaterError[] = [];
  const answer = await runOperation(journal, 'chat', async () => 'answer', {
    ...BACKGROUND,
    correlationId: 'late-1',
    onRecordError: (error) => errors.push(error),
  });
  assert.equal(answer, 'answer');
  await settle();
  assert.deepEqual(
    errors.map((e) => e.code),
    ['JOURNAL_LEASE_LOST'],
  );
  assert.equal(errors[0]!.correlationId, 'late-1');
});

test('waitForRecord: false with an outcome the store cannot take: it waits in the outbox', async () => {
  const inner = new MemoryJournalStore();
  const store: JournalStore<undefined> = {
    ...finishedElsewhereStore(),
    create: (row) => inner.create(row),
    transition: async () => {
      throw new Error('disk full');
    },
    get: (id) => inner.get(id),
  };
  const journal = new Journal({ store, owner: 'me' });
  const errors: BreakwaterError[] = [];
  assert.equal(
    await runOperation(journal, 'chat', async () => 'answer', { ...BACKGROUND, onRecordError: (e) => errors.push(e) }),
    'answer',
  );
  await settle();
  assert.equal(journal.health().deferred, 1, 'the success is kept for the sweeper to write');
  assert.deepEqual(errors, [], 'kept, so not an error');
});

test('waitForRecord: false is refused where the record can change what the caller is told', async () => {
  const journal = new Journal({ store: new MemoryJournalStore(), owner: 'me' });
  const work = async () => 'answer';
  await assert.rejects(runOperation(journal, 'chat', work, { waitForRecord: false }), /waitForRecord/);
  await assert.rejects(
    runOperation(journal, 'chat', work, { onJournalUnavailable: 'degrade', waitForRecord: false, join: () => {} }),
    /waitForRecord/,
  );
});
