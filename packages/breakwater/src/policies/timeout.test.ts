import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BreakwaterError } from '../errors/breakwater-error.js';
import { FakeClock, settle } from '../testing/fake-clock.js';
import type { CallView } from './context.js';
import { schedulerFor } from './deadline-scheduler.js';
import { pipeline } from './pipeline.js';
import { retry } from './retry/retry-policy.js';
import { constantBackoff } from './retry/backoff/no-jitter.js';
import { timeout } from './timeout.js';

const waitForAbort = (signal: AbortSignal) =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));

describe('timeout', () => {
  test("cooperative: the callee's signal aborts at the deadline and the call fails as a timeout", async () => {
    const clock = new FakeClock();
    const run = pipeline(timeout(100), { clock }).execute((ctx) => waitForAbort(ctx.signal));
    const result = run.catch((e: BreakwaterError) => e);
    await clock.tick(99);
    await clock.tick(1);
    const error = await result;
    assert.equal((error as BreakwaterError).code, 'OPERATION_TIMEOUT');
    assert.equal((error as BreakwaterError).category, 'timeout');
  });

  test('a callee that turns the abort into its own error (openai APIUserAbortError) still reads as a timeout', async () => {
    class APIUserAbortError extends Error {}
    const clock = new FakeClock();
    const run = pipeline(timeout(50), { clock }).execute((ctx) =>
      waitForAbort(ctx.signal).catch(() => {
        throw new APIUserAbortError('Request was aborted.');
      }),
    );
    const result = run.catch((e: BreakwaterError) => e);
    await clock.tick(50);
    assert.equal(((await result) as BreakwaterError).category, 'timeout');
  });

  test('no signal read, no timer: the happy path schedules nothing', async () => {
    const clock = new FakeClock();
    const run = pipeline(timeout(100), { clock });
    for (let i = 0; i < 100; i++) await run.execute(async () => 1);
    assert.equal(clock.pending, 0);
    assert.equal(schedulerFor(clock).size, 0);
    await run.execute(async (ctx) => ctx.signal.aborted);
    await settle();
    assert.equal(schedulerFor(clock).size, 0, 'a deadline registered for a read signal is released when the call ends');
  });

  test('a signal first read after the call ended holds no deadline', async () => {
    const clock = new FakeClock();
    let kept: CallView | undefined;
    await pipeline(retry(), timeout(100), { clock }).execute((ctx) => {
      kept = ctx;
      return 1;
    });
    assert.equal(kept!.signal.aborted, false);
    assert.equal(schedulerFor(clock).size, 0);
  });

  test('nested: a tighter inner deadline makes one signal, which still aborts for the caller and at its deadline', async () => {
    const clock = new FakeClock();
    const scheduler = schedulerFor(clock);
    const nested = pipeline(timeout(1_000), retry({ maxAttempts: 2, backoff: constantBackoff(0) }), timeout(100), {
      clock,
    });
    // Only the inner deadline is registered while the callee holds its signal: the outer one is later.
    const held = nested.execute((ctx) => {
      assert.equal(scheduler.size, 0);
      const signal = ctx.signal;
      assert.equal(scheduler.size, 1);
      return waitForAbort(signal);
    });
    const timedOut = held.catch((e: BreakwaterError) => e.code);
    await clock.tick(100);
    await clock.tick(100);
    assert.equal(await timedOut, 'OPERATION_TIMEOUT');
    assert.equal(clock.now(), 200, 'each attempt aborted at its own deadline');

    const caller = new AbortController();
    const cancelled = nested
      .execute((ctx) => waitForAbort(ctx.signal), { signal: caller.signal })
      .catch((e: BreakwaterError) => e.category);
    await settle();
    caller.abort();
    assert.equal(await cancelled, 'cancelled', "the caller's abort reaches past the skipped outer scope");

    // An outer deadline that comes first still aborts the inner work.
    const outerFirst = pipeline(timeout(50), timeout(100), { clock })
      .execute((ctx) => waitForAbort(ctx.signal))
      .catch((e: BreakwaterError) => e.code);
    await clock.tick(50);
    assert.equal(await outerFirst, 'OPERATION_TIMEOUT');
    await settle();
    assert.equal(scheduler.size, 0, 'every deadline is released');
  });

  test('aggressive: rejects at the deadline even when the callee ignores the signal', async () => {
    const clock = new FakeClock();
    const run = pipeline(timeout(30, { mode: 'aggressive' }), { clock }).execute(() => new Promise(() => {}));
    const result = run.catch((e: BreakwaterError) => e.code);
    await clock.tick(30);
    assert.equal(await result, 'OPERATION_TIMEOUT');
  });

  test('inside a retry it is per attempt; outside it bounds the whole call', async () => {
    const clock = new FakeClock();
    let attempts = 0;
    const perAttempt = pipeline(retry({ maxAttempts: 3, backoff: constantBackoff(0) }), timeout(100), {
      clock,
    }).execute((ctx) => {
      attempts++;
      return waitForAbort(ctx.signal);
    });
    const r1 = perAttempt.catch((e: BreakwaterError) => e.code);
    await clock.runAll();
    assert.equal(await r1, 'OPERATION_TIMEOUT');
    assert.equal(attempts, 3);
    assert.equal(clock.now(), 300);

    const overallClock = new FakeClock();
    let overallAttempts = 0;
    const overall = pipeline(timeout(250), retry({ maxAttempts: 10, backoff: constantBackoff(100) }), {
      clock: overallClock,
    }).execute((ctx) => {
      overallAttempts++;
      return waitForAbort(ctx.signal);
    });
    const r2 = overall.catch((e: BreakwaterError) => e.code);
    await overallClock.runAll();
    assert.equal(await r2, 'OPERATION_TIMEOUT');
    assert.equal(overallAttempts, 1, 'the first attempt used the whole budget; no retry fits in what is left');
  });

  test('the caller aborting is cancellation, not a timeout', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const run = pipeline(timeout(1000), { clock }).execute((ctx) => waitForAbort(ctx.signal), {
      signal: controller.signal,
    });
    const result = run.catch((e: BreakwaterError) => e.category);
    await settle();
    controller.abort();
    assert.equal(await result, 'cancelled');
  });
});
