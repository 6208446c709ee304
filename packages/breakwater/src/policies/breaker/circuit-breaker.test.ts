import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { BreakwaterError } from '../../errors/breakwater-error.js';
import { FakeClock } from '../../testing/fake-clock.js';
import { pipeline } from '../pipeline.js';
import { retry } from '../retry/retry-policy.js';
import { constantBackoff } from '../retry/backoff/no-jitter.js';
import { circuitBreaker } from './circuit-breaker.js';
import { consecutiveFailures } from './consecutive-failures.js';
import { failureRate } from './failure-rate.js';

const fault = () => new BreakwaterError({ code: 'T_DOWN', category: 'upstream_server', origin: 'dependency' });
const callerError = () => new BreakwaterError({ code: 'T_BAD', category: 'validation', origin: 'dependency' });
const ok = async () => 'ok';
const fails = (make: () => Error) => async () => {
  throw make();
};
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: BreakwaterError) => e.code,
  );

describe('circuit breaker', () => {
  test('opens after N consecutive faults, fails fast with the time left, half-opens lazily, closes on a probe success', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ strategy: consecutiveFailures(3), breakMs: 1_000, clock });
    const run = pipeline(breaker, { clock });
    for (let i = 0; i < 3; i++) assert.equal(await outcome(run.execute(fails(fault), { key: 'openai' })), 'T_DOWN');
    assert.equal(breaker.snapshot('openai').state, 'open');
    await clock.tick(400);
    const rejected = await run.execute(ok, { key: 'openai' }).catch((e: BreakwaterError) => e);
    assert.ok(rejected instanceof BreakwaterError);
    assert.equal(rejected.code, 'CIRCUIT_OPEN');
    assert.equal(rejected.retryAfterMs, 600);
    assert.equal(rejected.status, 503);
    assert.equal(await outcome(run.execute(ok, { key: 'anthropic' })), 'ok', 'other keys are unaffected');
    await clock.tick(600);
    assert.equal(breaker.snapshot('openai').state, 'half_open');
    assert.equal(await outcome(run.execute(ok, { key: 'openai' })), 'ok');
    assert.equal(breaker.snapshot('openai').state, 'closed');
  });

  test('a failed probe re-opens with a doubled break, capped', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ strategy: consecutiveFailures(1), breakMs: 1_000, maxBreakMs: 3_000, clock });
    const run = pipeline(breaker, { clock });
    await outcome(run.execute(fails(fault)));
    const breaks: number[] = [];
    for (let i = 0; i < 4; i++) {
      breaks.push(breaker.snapshot('default').retryAfterMs!);
      await clock.tick(breaks[i]!);
      await outcome(run.execute(fails(fault)));
    }
    assert.deepEqual(breaks, [1_000, 2_000, 3_000, 3_000]);
  });

  test('half-open admits at most maxProbes at once', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ strategy: consecutiveFailures(1), breakMs: 10, maxProbes: 2, clock });
    const run = pipeline(breaker, { clock });
    await outcome(run.execute(fails(fault)));
    await clock.tick(10);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const probes = [1, 2, 3].map(() => outcome(run.execute(() => gate.then(() => 'ok'))));
    release();
    assert.deepEqual(await Promise.all(probes), ['ok', 'ok', 'CIRCUIT_OPEN']);
  });

  test('only dependency faults count: caller errors and cancellations never open it', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ strategy: consecutiveFailures(2), clock });
    const run = pipeline(breaker, { clock });
    for (let i = 0; i < 10; i++) await outcome(run.execute(fails(callerError)));
    await outcome(run.execute(fails(() => new DOMException('x', 'AbortError'))));
    assert.equal(breaker.snapshot('default').state, 'closed');
  });

  test('failure rate over a sliding window with a minimum throughput', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({
      strategy: failureRate({ threshold: 0.5, windowMs: 10_000, minimumThroughput: 10, buckets: 10 }),
      clock,
    });
    const run = pipeline(breaker, { clock });
    for (let i = 0; i < 5; i++) await outcome(run.execute(fails(fault)));
    assert.equal(breaker.snapshot('default').state, 'closed', 'below minimum throughput');
    for (let i = 0; i < 4; i++) await outcome(run.execute(ok));
    await clock.tick(11_000);
    for (let i = 0; i < 9; i++) await outcome(run.execute(ok));
    await outcome(run.execute(fails(fault)));
    assert.equal(breaker.snapshot('default').state, 'closed', 'old failures slid out of the window');
    for (let i = 0; i < 10; i++) await outcome(run.execute(fails(fault)));
    assert.equal(breaker.snapshot('default').state, 'open');
  });

  test('state machine: never admits a call while open, never more probes than allowed (any sequence)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ fail: fc.boolean(), wait: fc.integer({ min: 0, max: 1500 }) }), {
          minLength: 1,
          maxLength: 60,
        }),
        async (steps) => {
          const clock = new FakeClock();
          const breaker = circuitBreaker({ strategy: consecutiveFailures(2), breakMs: 500, maxBreakMs: 2_000, clock });
          const run = pipeline(breaker, { clock });
          for (const step of steps) {
            const before = breaker.snapshot('k');
            let called = false;
            const result = await outcome(
              run.execute(
                async () => {
                  called = true;
                  if (step.fail) throw fault();
                  return 'ok';
                },
                { key: 'k' },
              ),
            );
            if (before.state === 'open') assert.equal(called, false, 'an open circuit admitted a call');
            if (result === 'CIRCUIT_OPEN') assert.equal(called, false);
            await clock.tick(step.wait);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  test('memory stays bounded with many keys; open circuits are kept', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ strategy: consecutiveFailures(1), maxKeys: 100, clock });
    const run = pipeline(breaker, { clock });
    await outcome(run.execute(fails(fault), { key: 'bad' }));
    for (let i = 0; i < 5_000; i++) await run.execute(ok, { key: `k${i}` });
    assert.ok(breaker.size <= 100, `${breaker.size} circuits kept`);
    assert.equal(breaker.snapshot('bad').state, 'open');
  });

  test('isolate holds it open until reset', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ clock });
    const run = pipeline(breaker, { clock });
    breaker.isolate('k');
    await clock.tick(10 * 60_000);
    assert.equal(await outcome(run.execute(ok, { key: 'k' })), 'CIRCUIT_OPEN');
    breaker.reset('k');
    assert.equal(await outcome(run.execute(ok, { key: 'k' })), 'ok');
  });

  test('composition order: retry outside the breaker counts attempts, inside counts calls', async () => {
    const clock = new FakeClock();
    const outside = circuitBreaker({ strategy: consecutiveFailures(3), clock });
    const inside = circuitBreaker({ strategy: consecutiveFailures(3), clock });
    const retryFirst = pipeline(retry({ maxAttempts: 3, backoff: constantBackoff(0) }), outside, { clock });
    const breakerFirst = pipeline(inside, retry({ maxAttempts: 3, backoff: constantBackoff(0) }), { clock });
    const p1 = outcome(retryFirst.execute(fails(fault)));
    const p2 = outcome(breakerFirst.execute(fails(fault)));
    await clock.runAll();
    await Promise.all([p1, p2]);
    assert.equal(outside.snapshot('default').state, 'open', 'three attempts reached the breaker');
    assert.equal(inside.snapshot('default').state, 'closed', 'one call reached the breaker');
  });
});
