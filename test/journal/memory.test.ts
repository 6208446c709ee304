import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryJournalStore } from 'breakwater';
import { journalContract } from './contract.js';

const values: string[] = [];
journalContract(
  'memory',
  async () => ({
    store: new MemoryJournalStore(),
    transactional: false,
    joinedWrite: (_tx: undefined, value: string) => values.push(value),
    joinedValues: async () => values,
    teardown: async () => {},
  }),
  { breakable: false },
);

test('the memory store is bounded: past maxRows the oldest finished operations go, running ones stay', async () => {
  const { Journal, MemoryJournalStore, runOperation } = await import('breakwater');
  const journal = new Journal({ store: new MemoryJournalStore({ maxRows: 10 }) });
  const running = await journal.createClaimed({ kind: 'long' });
  for (let i = 0; i < 50; i++) await runOperation(journal, 'short', async () => i, { correlationId: `m-${i}` });
  const rows = await journal.query({ limit: 100 });
  assert.equal(rows.length, 10);
  assert.ok(
    rows.some((o) => o.id === running.operation.id),
    'the running operation was kept',
  );
  assert.ok(
    rows.some((o) => o.correlationId === 'm-49'),
    'the newest were kept',
  );
});
