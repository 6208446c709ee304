import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { BreakwaterError } from '../../errors/breakwater-error.js';
import { FakeClock, settle } from '../../testing/fake-clock.js';
import { pipeline } from '../pipeline.js';
import { timeout } from '../timeout.js';
import { constantBackoff } from './backoff/no-jitter.js';
import { retryBudget } from './retry-budget.js';
import { retry } from './retry-policy.js';

const upstream = (category: 'overloaded' | 'validation' | 'rate_limited', retryAfterMs?: number) =>
  new BreakwaterError({ code: 'T_FAIL', category, origin: 'dependency', retryAfterMs });

describe('retry', () => {
  test('maxAttempts counts every call including the first; non-retryable errors stop at once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.constantFrom('ok', 'retryable', 'fatal'), { minLength: 1, maxLength: 10 }),
        async (maxAttempts, outcomes) => {
          const clock = new FakeClock();
          let calls = 0;
          const run = pipeline(retry({ maxAttempts, backoff: constantBackoff(0) }), { clock }).execute(async () => {
            const outcome = outcomes[calls++] ?? 'ok';
            if (outcome === 'retryable') throw upstream('overloaded');
            if (outcome === 'fatal') throw upstream('validation');
            return outcome;
          });
          const settled = run.then(
            () => 'ok',
            (e: BreakwaterError) => e.category,
          );
          await clock.runAll();
          await settled;
          assert.ok(calls <= maxAttempts, `${calls} calls with maxAttempts ${maxAttempts}`);
          const firstStop = outcomes.findIndex((o) => o !== 'retryable');
          const expected = Math.min(maxAttempts, firstStop === -1 ? outcomes.length + 1 : firstStop + 1);
          assert.equal(calls, expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('never retries before Retry-After, to the millisecond', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 0, max: 1_000 }),
        async (retryAfterMs, backoffMs) => {
          const clock = new FakeClock();
          const callTimes: number[] = [];
          const run = pipeline(retry({ backoff: constantBackoff(backoffMs) }), { clock }).execute(async () => {
            callTimes.push(clock.now());
            if (callTimes.length === 1) throw upstream('rate_limited', retryAfterMs);
            return 'ok';
          });
          await clock.tick(Math.max(retryAfterMs, backoffMs) - 1);
          assert.equal(callTimes.length, 1, 'no retry one millisecond before the delay');
          await clock.tick(1);
          assert.equal(await run, 'ok');
          assert.deepEqual(callTimes, [0, Math.max(retryAfterMs, backoffMs)]);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('a Retry-After longer than the time left fails at once, carrying the delay', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const run = pipeline(timeout(1_000), retry({ backoff: constantBackoff(10) }), { clock }).execute(async () => {
      calls++;
      throw upstream('rate_limited', 5_000);
    });
    const outcome = run.catch((error: BreakwaterError) => error);
    await settle();
    const error = await outcome;
    assert.ok(error instanceof BreakwaterError && error.category === 'rate_limited' && error.retryAfterMs === 5_000);
    assert.equal(calls, 1);
    assert.equal(clock.now(), 0, 'it did not wait');
  });

  test('the caller aborting during the backoff wait rejects at once as cancelled', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const run = pipeline(retry({ backoff: constantBackoff(10_000) }), { clock }).execute(
      async () => {
        throw upstream('overloaded');
      },
      { signal: controller.signal },
    );
    await settle();
    controller.abort();
    await assert.rejects(run, (error: BreakwaterError) => error.category === 'cancelled');
    assert.equal(clock.pending, 0, 'the wait timer is cleared');
  });

  test('events: each retry with its delay and reason, then the reason for giving up', async () => {
    const clock = new FakeClock();
    const policy = retry({ maxAttempts: 2, backoff: constantBackoff(7) });
    const seen: string[] = [];
    policy.events.on('attempt', (e) => seen.push(`attempt ${e.attempt}`));
    policy.events.on('retry', (e) => seen.push(`retry ${e.attempt} ${e.delayMs} ${e.reason}`));
    policy.events.on('giveUp', (e) => seen.push(`giveUp ${e.attempts} ${e.reason}`));
    const run = pipeline(policy, { clock }).execute(async () => {
      throw upstream('rate_limited', 20);
    });
    const outcome = run.catch(() => 'rejected');
    await clock.runAll();
    assert.equal(await outcome, 'rejected');
    assert.deepEqual(seen, ['attempt 1', 'retry 1 20 retry_after', 'attempt 2', 'giveUp 2 max_attempts']);
  });

  test('the budget holds under any sequence of outcomes: retries ≤ ratio × calls + floor', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 300 }),
        fc.constantFrom(0, 0.1, 0.5),
        async (failures, ratio) => {
          const clock = new FakeClock();
          const budget = retryBudget({ ratio, minPerSecond: 2, clock });
          const policy = retry({ maxAttempts: 4, backoff: constantBackoff(0), budget });
          let retries = 0;
          policy.events.on('retry', () => retries++);
          const run = pipeline(policy, { clock });
          for (const fails of failures) {
            const call = run
              .execute(async () => {
                if (fails) throw upstream('overloaded');
                return 1;
              })
              .catch(() => {});
            await clock.runAll(0);
            await call;
          }
          // No fake time passed: the floor bucket holds its initial minPerSecond only.
          assert.ok(
            retries <= Math.floor(ratio * failures.length + 1e-9) + 2,
            `${retries} retries for ${failures.length} calls at ratio ${ratio}`,
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  test('options are checked up front', () => {
    assert.throws(() => retry({ maxAttempts: 0 }), /`maxAttempts`/);
    assert.throws(() => retryBudget({ ratio: 2 }), /`ratio`/);
  });
});
