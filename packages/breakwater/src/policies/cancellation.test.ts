import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BreakwaterError } from '../errors/breakwater-error.js';
import { FakeClock } from '../testing/fake-clock.js';
import { Cancellation, toSignal, type AbortSource } from './cancellation.js';
import { pipeline } from './pipeline.js';
import { timeout } from './timeout.js';
import { sleep } from './clock.js';

const aborted = (source: AbortSource) =>
  new Promise<unknown>((resolve) => source.addEventListener('abort', () => resolve(source.reason)));

describe('Cancellation', () => {
  test('aborts once: listeners run in order, once each; the first reason stays', () => {
    const cancellation = new Cancellation();
    const calls: string[] = [];
    const first = (): void => void calls.push('first');
    cancellation.addEventListener('abort', first);
    cancellation.addEventListener('abort', first);
    cancellation.addEventListener('abort', () => calls.push('second'));
    assert.equal(cancellation.aborted, false);
    cancellation.abort('why');
    cancellation.abort('again');
    assert.deepEqual(calls, ['first', 'second']);
    assert.equal(cancellation.aborted, true);
    assert.equal(cancellation.reason, 'why');
    assert.throws(
      () => cancellation.throwIfAborted(),
      (thrown) => thrown === 'why',
    );
  });

  test('a removed listener does not run; one added after the abort never runs', () => {
    const cancellation = new Cancellation();
    const calls: string[] = [];
    const removed = (): void => void calls.push('removed');
    cancellation.addEventListener('abort', removed);
    cancellation.removeEventListener('abort', removed);
    cancellation.abort();
    cancellation.addEventListener('abort', () => calls.push('late'));
    assert.deepEqual(calls, []);
  });

  test('without a reason it aborts with an AbortError, as AbortController does', () => {
    const cancellation = new Cancellation();
    cancellation.abort();
    assert.equal((cancellation.reason as DOMException).name, 'AbortError');
  });

  test('its signal is a real AbortSignal that follows it, whether read before or after the abort', () => {
    const before = new Cancellation();
    const early = before.signal;
    assert.ok(early instanceof AbortSignal);
    assert.equal(early.aborted, false);
    before.abort('stop');
    assert.equal(early.aborted, true);
    assert.equal(early.reason, 'stop');
    assert.equal(before.signal, early, 'one signal, made once');

    const after = new Cancellation();
    after.abort('late');
    assert.equal(after.signal.aborted, true);
    assert.equal(after.signal.reason, 'late');
    assert.equal(toSignal(after), after.signal);
  });

  test('what waits on a signal waits on a Cancellation (a sleep rejects with its reason)', async () => {
    const clock = new FakeClock();
    const cancellation = new Cancellation();
    const wait = sleep(clock, 1_000, cancellation).catch((error: unknown) => error);
    cancellation.abort('stopped');
    assert.equal(await wait, 'stopped');
  });
});

describe('a call cancelled by a Cancellation', () => {
  test("the attempt's abortSource is a Cancellation that aborts at the deadline: no AbortSignal needed", async () => {
    const clock = new FakeClock();
    const caller = new Cancellation();
    let source: AbortSource | undefined;
    const run = pipeline(timeout(100), { clock })
      .execute(
        (ctx) => {
          source = ctx.abortSource;
          return aborted(ctx.abortSource).then((reason) => Promise.reject(reason));
        },
        { signal: caller },
      )
      .catch((error: BreakwaterError) => error);
    await clock.tick(100);
    const error = (await run) as BreakwaterError;
    assert.ok(source instanceof Cancellation);
    assert.equal(error.code, 'OPERATION_TIMEOUT');
    assert.equal(caller.aborted, false, "the attempt's deadline does not cancel the caller");
  });

  test("the caller's abort reaches the attempt, with the caller's reason, and the call fails as cancelled", async () => {
    const clock = new FakeClock();
    const caller = new Cancellation();
    let reached: unknown;
    const run = pipeline(timeout(1_000), { clock })
      .execute(
        async (ctx) => {
          reached = await aborted(ctx.abortSource);
          throw reached;
        },
        { signal: caller },
      )
      .catch((error: BreakwaterError) => error);
    caller.abort(new DOMException('client left', 'AbortError'));
    const error = (await run) as BreakwaterError;
    assert.equal((reached as DOMException).message, 'client left');
    assert.equal(error.category, 'cancelled');
  });

  test('a callee that reads ctx.signal gets a real AbortSignal following the caller', async () => {
    const caller = new Cancellation();
    let signal: AbortSignal | undefined;
    const run = pipeline(timeout(1_000)).execute(
      (ctx) => {
        signal = ctx.signal;
        return aborted(ctx.signal);
      },
      { signal: caller },
    );
    caller.abort('gone');
    await run.catch(() => undefined);
    assert.ok(signal instanceof AbortSignal);
    assert.equal(signal.reason, 'gone');
  });
});
