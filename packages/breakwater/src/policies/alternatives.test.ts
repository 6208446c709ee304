import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { BreakwaterError } from '../errors/breakwater-error.js';
import { FakeClock, settle } from '../testing/fake-clock.js';
import { alternatives } from './alternatives.js';
import { circuitBreaker } from './breaker/circuit-breaker.js';
import { consecutiveFailures } from './breaker/consecutive-failures.js';
import { CallTrail } from './call-trail.js';
import { pipeline } from './pipeline.js';
import { constantBackoff } from './retry/backoff/no-jitter.js';
import { retry } from './retry/retry-policy.js';
import { timeout } from './timeout.js';

const failure = (status: number, body?: unknown) =>
  Object.assign(new Error(`HTTP ${status}`), { status, headers: {}, error: body });
const retrying = () => pipeline(retry({ maxAttempts: 3, backoff: constantBackoff(0) }));

test('tries branches in order, each under its own policies and key; the trail says what happened', async () => {
  const run = pipeline(
    alternatives([
      { key: 'primary', policy: retrying() },
      { key: 'backup', policy: retrying() },
    ]),
  );
  const seen: string[] = [];
  const trail = new CallTrail();
  const value = await run.execute(
    (ctx) => {
      seen.push(`${ctx.key}#${ctx.attempt}`);
      if (ctx.key === 'primary') throw failure(500);
      return `answer from ${ctx.key}`;
    },
    { trail },
  );
  assert.equal(value, 'answer from backup');
  assert.deepEqual(seen, ['primary#1', 'primary#2', 'primary#3', 'backup#1']);
  assert.equal(trail.attempts, 4);
  assert.equal(trail.answeredBy, 'backup');
  assert.deepEqual(trail.fellBackFrom, ['primary']);
  assert.deepEqual(
    trail.branches.map((b) => [b.key, b.outcome, b.attempts, b.error?.category]),
    [
      ['primary', 'failed', 3, 'upstream_server'],
      ['backup', 'answered', 1, undefined],
    ],
  );
});

test("the caller's own mistakes do not move on; a branch may decline an error (context window)", async () => {
  const trail = new CallTrail();
  const run = pipeline(alternatives([{ key: 'a' }, { key: 'b' }]));
  await assert.rejects(
    run.execute(() => Promise.reject(failure(400)), { trail }),
    (e: BreakwaterError) => e.category === 'validation',
  );
  assert.deepEqual(trail.fellBackFrom, [], 'nothing fell back');
  assert.equal(trail.branches.length, 1);

  const windows: Record<string, number> = { small: 8_000, same: 8_000, large: 128_000 };
  const larger = (key: string) => (error: BreakwaterError, previous: { key: string }) =>
    error.category !== 'context_length' || windows[key]! > windows[previous.key]!;
  const byWindow = pipeline(alternatives(['small', 'same', 'large'].map((key) => ({ key, accepts: larger(key) }))));
  const contextTrail = new CallTrail();
  // The shape of the openai SDK's BadRequestError for an over-long prompt.
  class APIError extends Error {
    status = 400;
    headers = {};
    code = 'context_length_exceeded';
    type = 'invalid_request_error';
  }
  const tooLong = new APIError('400 context length');
  const value = await byWindow.execute((ctx) => (ctx.key === 'large' ? 'fits' : Promise.reject(tooLong)), {
    trail: contextTrail,
  });
  assert.equal(value, 'fits');
  assert.deepEqual(
    contextTrail.branches.map((b) => [b.key, b.outcome]),
    [
      ['small', 'failed'],
      ['same', 'skipped'],
      ['large', 'answered'],
    ],
  );
});

test('breakers belong to the branch key: an open branch is skipped at once with no call', async () => {
  const breaker = circuitBreaker({ strategy: consecutiveFailures(1), breakMs: 60_000 });
  const run = pipeline(
    alternatives([
      { key: 'flaky', policy: breaker },
      { key: 'steady', policy: breaker },
    ]),
  );
  const call = (trail: CallTrail) =>
    run.execute((ctx) => (ctx.key === 'flaky' ? Promise.reject(failure(503)) : 'ok'), { trail });
  await call(new CallTrail());
  const trail = new CallTrail();
  assert.equal(await call(trail), 'ok');
  assert.deepEqual(
    trail.branches.map((b) => [b.key, b.attempts, b.error?.code ?? '']),
    [
      ['flaky', 0, 'CIRCUIT_OPEN'],
      ['steady', 1, ''],
    ],
  );
  assert.equal(breaker.snapshot('steady').state, 'closed');
});

test('an expired overall deadline stops the walk; fallback events name both ends', async () => {
  const clock = new FakeClock();
  const policy = alternatives([{ key: 'a' }, { key: 'b' }]);
  const events: string[] = [];
  policy.events.on('fallback', (e) => events.push(`${e.key}->${e.to}:${e.reason}`));
  const run = pipeline(timeout(100), policy, { clock });
  const slow = run
    .execute(async (ctx) => {
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      throw ctx.signal.reason;
    })
    .catch((e: BreakwaterError) => e.code);
  await clock.tick(100);
  assert.equal(await slow, 'OPERATION_TIMEOUT');
  assert.deepEqual(events, [], 'b was not tried after the deadline');
  await pipeline(policy).execute((ctx) => (ctx.key === 'a' ? Promise.reject(failure(503)) : 1));
  assert.deepEqual(events, ['a->b:overloaded']);
});

test('property: attempts in the trail equal calls made, and only the last tried branch can answer', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(fc.constantFrom(200, 400, 429, 500, 503), { minLength: 3, maxLength: 3 }), {
        minLength: 1,
        maxLength: 4,
      }),
      async (plans) => {
        const branches = plans.map((_, i) => ({ key: `b${i}`, policy: retrying() }));
        const calls = new Map<string, number>();
        const trail = new CallTrail();
        await pipeline(alternatives(branches))
          .execute(
            (ctx) => {
              const n = calls.get(ctx.key) ?? 0;
              calls.set(ctx.key, n + 1);
              const status = plans[Number(ctx.key.slice(1))]![n]!;
              return status === 200 ? 'ok' : Promise.reject(failure(status));
            },
            { trail },
          )
          .catch(() => undefined);
        assert.equal(
          trail.attempts,
          [...calls.values()].reduce((a, b) => a + b, 0),
        );
        for (const branch of trail.branches) assert.equal(branch.attempts, calls.get(branch.key) ?? 0);
        const answered = trail.branches.filter((b) => b.outcome === 'answered');
        assert.ok(answered.length <= 1);
        if (answered.length === 1) assert.equal(trail.branches.at(-1)!.outcome, 'answered');
      },
    ),
    { numRuns: 200 },
  );
});

test("a later branch's attempt deadline counts from when it starts (issue-12 regression)", async () => {
  const clock = new FakeClock();
  const run = pipeline(
    alternatives([
      { key: 'silent', policy: timeout(300) },
      { key: 'healthy', policy: timeout(300) },
    ]),
    { clock },
  );
  const answer = run.execute(async (ctx) => {
    if (ctx.key === 'silent') {
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      throw ctx.signal.reason;
    }
    const signal = ctx.signal; // read first, as any I/O call does
    await new Promise((resolve) => clock.setTimer(() => resolve(undefined), 100));
    if (signal.aborted) throw signal.reason;
    return 'answered';
  });
  await clock.tick(300);
  await clock.tick(100);
  assert.equal(await answer, 'answered');
});

test('the trail logs every attempt in order: outcome, category, retry delay and why, breaker state', async () => {
  const breaker = circuitBreaker({ strategy: consecutiveFailures(5) });
  const run = pipeline(
    alternatives([
      { key: 'primary', policy: pipeline(retry({ maxAttempts: 2, backoff: constantBackoff(0) }), breaker) },
      { key: 'backup', policy: breaker },
    ]),
  );
  const trail = new CallTrail();
  await run.execute((ctx) => (ctx.key === 'primary' ? Promise.reject(failure(500)) : 'ok'), { trail });
  assert.deepEqual(
    trail.log.map((a) => [a.key, a.attempt, a.outcome, a.category ?? '', a.breaker, a.retryReason ?? '']),
    [
      ['primary', 1, 'failed', 'upstream_server', 'closed', 'backoff'],
      ['primary', 2, 'failed', 'upstream_server', 'closed', ''],
      ['backup', 1, 'succeeded', '', 'closed', ''],
    ],
  );
  assert.ok(trail.log.every((a) => a.startedAt > 0 && a.durationMs >= 0));
});

/** A callee whose answer time per branch key is scripted on the fake clock; it records each signal. */
function scriptedBranches(clock: FakeClock, plan: Record<string, { afterMs: number; fail?: number }>) {
  const signals = new Map<string, AbortSignal>();
  const callee = (ctx: { key: string; signal: AbortSignal }) => {
    const signal = ctx.signal;
    signals.set(ctx.key, signal);
    const { afterMs, fail } = plan[ctx.key]!;
    return new Promise<string>((resolve, reject) => {
      const timer = clock.setTimer(() => (fail ? reject(failure(fail)) : resolve(`answer from ${ctx.key}`)), afterMs);
      signal.addEventListener('abort', () => {
        clock.clearTimer(timer);
        reject(signal.reason);
      });
    });
  };
  return { signals, callee };
}

test('hedging: a slow first branch gets the second beside it; the first answer wins, the loser is cancelled', async () => {
  const clock = new FakeClock();
  const policy = alternatives([{ key: 'slow' }, { key: 'fast' }], { hedgeAfterMs: 200 });
  const hedges: string[] = [];
  policy.events.on('hedge', (e) => hedges.push(`${e.key}->${e.to}@${e.afterMs}`));
  const { signals, callee } = scriptedBranches(clock, { slow: { afterMs: 5_000 }, fast: { afterMs: 100 } });
  const trail = new CallTrail();
  const answer = pipeline(policy, { clock }).execute(callee, { trail });
  await clock.tick(199);
  assert.equal(signals.size, 1, 'no hedge before the delay');
  await clock.tick(1);
  assert.deepEqual(hedges, ['slow->fast@200']);
  await clock.tick(100);
  assert.equal(await answer, 'answer from fast');
  assert.equal(signals.get('slow')!.aborted, true, 'the slow branch was cancelled');
  assert.equal(signals.get('fast')!.aborted, false);
  assert.equal(trail.answeredBy, 'fast');
  assert.deepEqual(trail.fellBackFrom, [], 'a hedge is not a fallback');
  assert.deepEqual(
    trail.branches.map((b) => [b.key, b.outcome]),
    [
      ['slow', 'abandoned'],
      ['fast', 'answered'],
    ],
  );
});

test('hedging: a first branch that answers before the delay never starts the second', async () => {
  const clock = new FakeClock();
  const { signals, callee } = scriptedBranches(clock, { a: { afterMs: 50 }, b: { afterMs: 10 } });
  const answer = pipeline(alternatives([{ key: 'a' }, { key: 'b' }], { hedgeAfterMs: 200 }), { clock }).execute(callee);
  await clock.tick(50);
  assert.equal(await answer, 'answer from a');
  assert.deepEqual([...signals.keys()], ['a']);
  await clock.tick(1_000);
  assert.deepEqual([...signals.keys()], ['a'], 'the hedge timer was cleared');
});

test('hedging: the first may still win after the hedge starts; a late value from the loser is disposed of', async () => {
  const clock = new FakeClock();
  const disposed: unknown[] = [];
  // The loser ignores its signal (a stream already opened): its value arrives anyway.
  const answer = pipeline(
    alternatives([{ key: 'a' }, { key: 'b' }], { hedgeAfterMs: 100, dispose: (v) => disposed.push(v) }),
    { clock },
  ).execute(
    (ctx) =>
      new Promise<string>((resolve) => clock.setTimer(() => resolve(`from ${ctx.key}`), ctx.key === 'a' ? 150 : 300)),
  );
  await clock.tick(150);
  assert.equal(await answer, 'from a');
  await clock.tick(250);
  await settle();
  assert.deepEqual(disposed, ['from b']);
});

test('hedging: a fast failure of the first starts the second at once; both failing is the last error', async () => {
  const clock = new FakeClock();
  const trail = new CallTrail();
  const { signals, callee } = scriptedBranches(clock, {
    a: { afterMs: 10, fail: 503 },
    b: { afterMs: 10, fail: 500 },
    c: { afterMs: 10 },
  });
  const answer = pipeline(alternatives([{ key: 'a' }, { key: 'b' }, { key: 'c' }], { hedgeAfterMs: 1_000 }), {
    clock,
  }).execute(callee, { trail });
  await clock.tick(10);
  assert.ok(signals.has('b'), 'b started without waiting for the hedge delay');
  await clock.tick(10);
  await clock.tick(10);
  assert.equal(await answer, 'answer from c', 'the walk goes on past the hedged pair');
  assert.deepEqual(trail.fellBackFrom, ['a', 'b']);

  const refused = pipeline(alternatives([{ key: 'a' }, { key: 'b' }], { hedgeAfterMs: 1_000 }), { clock })
    .execute(() => Promise.reject(failure(400)))
    .catch((e: BreakwaterError) => e.category);
  assert.equal(await refused, 'validation', "the caller's own mistake is not hedged or moved on");
});

test("hedging: a racer's failure that stops the call cancels the other; a fast first failure is a fallback", async () => {
  const clock = new FakeClock();
  const { signals, callee } = scriptedBranches(clock, { a: { afterMs: 5_000 }, b: { afterMs: 10, fail: 400 } });
  const stopped = pipeline(alternatives([{ key: 'a' }, { key: 'b' }], { hedgeAfterMs: 100 }), { clock })
    .execute(callee)
    .catch((e: BreakwaterError) => e.category);
  await clock.tick(110);
  assert.equal(await stopped, 'validation');
  assert.equal(signals.get('a')!.aborted, true, 'the first branch is not left running');

  const policy = alternatives([{ key: 'a' }, { key: 'b' }], { hedgeAfterMs: 1_000 });
  const fallbacks: string[] = [];
  policy.events.on('fallback', (e) => fallbacks.push(`${e.key}->${e.to}:${e.reason}`));
  const fast = scriptedBranches(clock, { a: { afterMs: 10, fail: 503 }, b: { afterMs: 10 } });
  const answer = pipeline(policy, { clock }).execute(fast.callee);
  await clock.tick(10);
  await clock.tick(10);
  assert.equal(await answer, 'answer from b');
  assert.deepEqual(fallbacks, ['a->b:overloaded']);
});

test('hedging: the delay must be positive', () => {
  assert.throws(() => alternatives([{ key: 'a' }, { key: 'b' }], { hedgeAfterMs: 0 }), /hedgeAfterMs/);
});

test('a branch switched off is left out of new calls (hedging too); a call already on it finishes', async () => {
  const drained = new Set<string>();
  const on = (key: string) => () => !drained.has(key);
  const run = pipeline(
    alternatives(
      [
        { key: 'a', enabled: on('a') },
        { key: 'b', enabled: on('b') },
        { key: 'c', enabled: on('c') },
      ],
      { hedgeAfterMs: 60_000 },
    ),
  );
  const seen: string[] = [];
  let release: (value: string) => void = () => {};
  const slowOnA = run.execute((ctx) => {
    seen.push(ctx.key);
    return ctx.key === 'a' ? new Promise<string>((resolve) => (release = resolve)) : Promise.reject(failure(500));
  });
  await settle();
  drained.add('a');
  const trail = new CallTrail();
  // With a drained, the walk (and a hedge) starts at b: b fails at once, c answers.
  const next = await run.execute((ctx) => (ctx.key === 'c' ? 'from c' : Promise.reject(failure(500))), { trail });
  assert.equal(next, 'from c');
  assert.deepEqual(
    trail.branches.map((b) => b.key),
    ['b', 'c'],
  );
  release('from a');
  assert.equal(await slowOnA, 'from a', 'the call already on the drained branch finished');
  assert.deepEqual(seen, ['a']);
  drained.add('b').add('c');
  await assert.rejects(
    run.execute(() => 'never'),
    (error: BreakwaterError) => error.code === 'ALTERNATIVES_ALL_DISABLED' && error.status === 503,
  );
});

test('property: with any set of branches switched off, a failing walk visits exactly the others, in order', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }), async (on) => {
      const keys = on.map((_, i) => `b${i}`);
      const run = pipeline(alternatives(keys.map((key, i) => ({ key, enabled: () => on[i]! }))));
      const seen: string[] = [];
      const outcome = await run
        .execute((ctx) => {
          seen.push(ctx.key);
          throw failure(503);
        })
        .catch((error: BreakwaterError) => error.code);
      const expected = keys.filter((_, i) => on[i]);
      assert.deepEqual(seen, expected);
      if (expected.length === 0) assert.equal(outcome, 'ALTERNATIVES_ALL_DISABLED');
    }),
    { numRuns: 200 },
  );
});
