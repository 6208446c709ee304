import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { BreakwaterError } from '../errors/breakwater-error.js';
import { FakeClock, settle } from '../testing/fake-clock.js';
import { bulkhead } from './bulkhead.js';
import { pipeline } from './pipeline.js';
import { timeout } from './timeout.js';

describe('bulkhead', () => {
  test('concurrency never exceeds the bound and every admitted call runs (any arrival pattern)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 10 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 40 }),
        async (max, queue, durations) => {
          const clock = new FakeClock();
          const policy = bulkhead({ maxConcurrent: max, maxQueue: queue });
          const run = pipeline(policy, { clock });
          let running = 0;
          let peak = 0;
          const results = durations.map((ticks) =>
            run
              .execute(async () => {
                running++;
                peak = Math.max(peak, running);
                for (let i = 0; i < ticks; i++) await settle();
                running--;
                return 'ok';
              })
              .then(
                () => 'ok',
                (e: BreakwaterError) => e.code,
              ),
          );
          const outcomes = await Promise.all(results);
          assert.ok(peak <= max);
          assert.equal(
            outcomes.filter((o) => o === 'ok').length + outcomes.filter((o) => o === 'BULKHEAD_REJECTED').length,
            durations.length,
          );
          assert.ok(outcomes.filter((o) => o === 'ok').length >= Math.min(durations.length, max + queue));
          assert.equal(policy.running, 0);
          assert.equal(policy.queued, 0);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('a caller that aborts leaves the queue at once and the slot goes to the next live caller', async () => {
    const clock = new FakeClock();
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 2 });
    const run = pipeline(policy, { clock });
    let release!: () => void;
    const first = run.execute(() => new Promise<string>((r) => (release = () => r('first'))));
    const controller = new AbortController();
    const aborted = run
      .execute(async () => 'never', { signal: controller.signal })
      .catch((e: BreakwaterError) => e.category);
    const live = run.execute(async () => 'live');
    await settle();
    assert.equal(policy.queued, 2);
    controller.abort();
    assert.equal(await aborted, 'cancelled');
    assert.equal(policy.queued, 1, 'left the queue immediately, before any slot freed');
    release();
    assert.deepEqual(await Promise.all([first, live]), ['first', 'live']);
  });

  test('queue timeout rejects with BULKHEAD_REJECTED', async () => {
    const clock = new FakeClock();
    const run = pipeline(bulkhead({ maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 50 }), { clock });
    void run.execute(() => new Promise(() => {}));
    const waiting = run.execute(async () => 'x').catch((e: BreakwaterError) => e.code);
    await clock.tick(50);
    assert.equal(await waiting, 'BULKHEAD_REJECTED');
  });

  test('a queued call leaves at its deadline as a timeout and never runs (issue-11 regression)', async () => {
    const clock = new FakeClock();
    const run = pipeline(timeout(100), bulkhead({ maxConcurrent: 1, maxQueue: 5 }), { clock });
    let release!: () => void;
    const first = run.execute(() => new Promise<string>((r) => (release = () => r('first'))));
    let ran = false;
    const queued = run
      .execute(async () => {
        ran = true;
        return 'late';
      })
      .catch((e: BreakwaterError) => e.code);
    await clock.tick(100);
    assert.equal(await queued, 'OPERATION_TIMEOUT');
    release();
    await first.catch(() => undefined);
    await clock.tick(1_000);
    assert.equal(ran, false, 'the queued call was not started after its deadline');
  });

  test('a rejection tells the caller when to come back (Retry-After)', async () => {
    const run = pipeline(bulkhead({ maxConcurrent: 1, retryAfterMs: 2_000 }), { clock: new FakeClock() });
    void run.execute(() => new Promise(() => {}));
    const rejected = await run.execute(async () => 'x').catch((e: BreakwaterError) => e);
    assert.equal((rejected as BreakwaterError).retryAfterMs, 2_000);
    assert.equal((rejected as BreakwaterError).status, 503);
  });
});
