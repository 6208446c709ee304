import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MemoryJournalStore } from '../journal/memory-store.js';
import { Journal } from '../journal/journal.js';
import { runBatch } from './run-batch.js';

const settle = () => new Promise((resolve) => setImmediate(resolve));
const failure = () => Object.assign(new Error('upstream 503'), { status: 503, headers: {} });

describe('runBatch', () => {
  test('every item is reported exactly once and concurrency never exceeds the bound (any outcomes)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ fail: fc.boolean(), ticks: fc.integer({ min: 0, max: 3 }) }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 8 }),
        fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
        async (items, concurrency, maxFailureRatio) => {
          let running = 0;
          let peak = 0;
          const result = await runBatch(
            items,
            async (item) => {
              running++;
              peak = Math.max(peak, running);
              for (let i = 0; i < item.ticks; i++) await settle();
              running--;
              if (item.fail) throw failure();
              return 'ok';
            },
            { concurrency, maxFailureRatio, minFinished: 5 },
          );
          assert.ok(peak <= concurrency, `peak ${peak} > ${concurrency}`);
          const indexes = [...result.succeeded.map((s) => s.index), ...result.failed.map((f) => f.index)].sort(
            (a, b) => a - b,
          );
          assert.deepEqual(
            indexes,
            items.map((_, i) => i),
            'each index exactly once',
          );
          assert.equal(result.summary.total, items.length);
          assert.equal(result.summary.succeeded + result.summary.failed + result.summary.cancelled, items.length);
          for (const s of result.succeeded) assert.equal(items[s.index]!.fail, false);
          if (maxFailureRatio === undefined) assert.equal(result.summary.cancelled, 0);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('the failure budget stops new work: nothing starts after it is exceeded', async () => {
    const started: number[] = [];
    const result = await runBatch(
      Array.from({ length: 100 }, (_, i) => i),
      async (i) => {
        started.push(i);
        throw failure();
      },
      { concurrency: 2, maxFailureRatio: 0.2, minFinished: 10 },
    );
    assert.equal(result.summary.stoppedBy, 'failure_budget');
    assert.ok(started.length <= 11, `${started.length} items started`);
    assert.equal(result.summary.cancelled, 100 - started.length);
    assert.deepEqual(result.summary.byCode['UPSTREAM_OVERLOADED'], started.length);
  });

  test('aborting cancels running items through their signal and reports the rest as cancelled', async () => {
    const controller = new AbortController();
    const pending = runBatch(
      Array.from({ length: 20 }, (_, i) => i),
      (_i, { signal }) =>
        new Promise((_, reject) => {
          if (signal.aborted) reject(signal.reason);
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
      { concurrency: 4, signal: controller.signal },
    );
    await settle();
    controller.abort();
    const result = await pending;
    assert.equal(result.summary.stoppedBy, 'signal');
    assert.equal(result.summary.cancelled, 20);
    assert.equal(result.failed.length, 20);
    assert.ok(result.failed.every((f) => f.error.category === 'cancelled'));
  });

  test('each item can be journaled', async () => {
    const journal = new Journal({ store: new MemoryJournalStore() });
    const result = await runBatch(
      ['a', 'b', 'c'],
      async (x) => {
        if (x === 'b') throw failure();
        return x.toUpperCase();
      },
      { journal, kind: 'embed' },
    );
    assert.deepEqual(
      result.succeeded.map((s) => s.value),
      ['A', 'C'],
    );
    const rows = await journal.query({ kind: 'embed' });
    assert.deepEqual(rows.map((r) => r.status).sort(), ['failed', 'succeeded', 'succeeded']);
  });
});
