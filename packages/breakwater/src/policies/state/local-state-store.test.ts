import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FakeClock } from '../../testing/fake-clock.js';
import { consecutiveFailures } from '../breaker/consecutive-failures.js';
import { circuitBreaker } from '../breaker/circuit-breaker.js';
import { pipeline } from '../pipeline.js';
import { rateLimiter } from '../rate-limiter.js';
import { retryBudget } from '../retry/retry-budget.js';
import { localState } from './local-state-store.js';

test('limiters sharing a store never admit more than one bucket allows, however calls interleave', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 1, max: 20 }),
      fc.array(fc.record({ limiter: fc.nat(3), advanceMs: fc.nat(200) }), { maxLength: 100 }),
      async (perSecond, burst, calls) => {
        const clock = new FakeClock();
        const store = localState({ clock });
        const limiters = Array.from({ length: 4 }, () =>
          pipeline(rateLimiter({ store, perSecond, burst, clock }), { clock }),
        );
        let admitted = 0;
        for (const call of calls) {
          await clock.tick(call.advanceMs);
          await limiters[call.limiter]!.execute(() => admitted++, { key: 'k' }).catch(() => {});
        }
        const elapsedMs = calls.reduce((sum, c) => sum + c.advanceMs, 0);
        // Four limiters on their own would admit four bursts.
        assert.ok(admitted <= burst + Math.floor((elapsedMs / 1000) * perSecond), `admitted ${admitted}`);
      },
    ),
    { numRuns: 50 },
  );
});

test('breakers sharing a store follow each other: one opens, the other fails fast; a reset closes both', async () => {
  const store = localState();
  const a = circuitBreaker({ store, strategy: consecutiveFailures(2) });
  const b = circuitBreaker({ store });
  const fail = () => Promise.reject(Object.assign(new Error('down'), { status: 503 }));
  for (let i = 0; i < 2; i++)
    await pipeline(a)
      .execute(fail, { key: 'k' })
      .catch(() => {});
  assert.equal(b.snapshot('k').state, 'open');
  let called = false;
  await assert.rejects(
    pipeline(b).execute(() => (called = true), { key: 'k' }),
    (e: { category: string }) => e.category === 'circuit_open',
  );
  assert.equal(called, false);
  b.reset('k');
  assert.equal(a.snapshot('k').state, 'closed');
  a.close();
  a.isolate('k');
  b.close();
});

test('faults of breakers sharing a store count together, and are forgotten after a quiet window', async () => {
  const clock = new FakeClock();
  const store = localState({ clock });
  const [a, b] = [0, 1].map(() =>
    circuitBreaker({ store, strategy: consecutiveFailures(2), fleetWindowMs: 1_000, clock }),
  );
  const fail = () => Promise.reject(Object.assign(new Error('down'), { status: 503 }));
  await pipeline(a!, { clock })
    .execute(fail, { key: 'k' })
    .catch(() => {});
  await clock.tick(1_000);
  await pipeline(b!, { clock })
    .execute(fail, { key: 'k' })
    .catch(() => {});
  assert.equal(a!.snapshot('k').state, 'closed', 'the first fault was forgotten');
  await pipeline(a!, { clock })
    .execute(fail, { key: 'k' })
    .catch(() => {});
  assert.equal(b!.snapshot('k').state, 'open');
  assert.equal(a!.snapshot('k').state, 'open');
});

test('retry budgets sharing a store spend one balance', () => {
  const store = localState();
  const a = retryBudget({ store, ratio: 1, minPerSecond: 0 });
  const b = retryBudget({ store, ratio: 1, minPerSecond: 0 });
  a.recordCall();
  a.recordCall();
  assert.equal(b.available, 2);
  assert.deepEqual([b.tryRetry(), a.tryRetry(), b.tryRetry()], [true, true, false]);
  assert.equal(b.exhaustedCount, 1);
});
