import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Cancellation,
  Journal,
  MemoryJournalStore,
  runOperation,
  type BreakwaterError,
  type OperationContext,
} from 'breakwater';

// A worker whose lease is taken away (its process was thought dead and swept) must stop: the work's
// signal aborts with JOURNAL_LEASE_LOST, whether the operation made that signal or was handed the
// caller's own controller.
const LEASE_MS = 30; // renewed every 10 ms

function journals() {
  const store = new MemoryJournalStore();
  const worker = new Journal({ store, owner: 'worker', leaseMs: LEASE_MS });
  // Another replica whose clock is past the lease: its sweeper records the operation abandoned.
  const sweeper = new Journal({ store, owner: 'sweeper', leaseMs: LEASE_MS, now: () => Date.now() + 60_000 });
  return { worker, sweeper };
}

/**
 * Work that runs until its signal aborts, and sweeps its own operation away once it has started. A
 * ref'd timer stands for the I/O real work waits on (the lease's own timer does not hold the process).
 */
function untilAborted(sweeper: Journal<unknown>, seen: { signal?: AbortSignal }) {
  return (op: OperationContext) =>
    new Promise<never>((_, reject) => {
      seen.signal = op.signal;
      const io = setInterval(() => {}, 1_000);
      op.signal.addEventListener(
        'abort',
        () => {
          clearInterval(io);
          reject(op.signal.reason);
        },
        { once: true },
      );
      void sweeper.sweep();
    });
}

const leaseLost = (error: BreakwaterError) => error.code === 'JOURNAL_LEASE_LOST';

describe('a lost lease', () => {
  test("aborts the operation's own signal, which follows the caller's", async () => {
    const { worker, sweeper } = journals();
    const caller = new AbortController();
    const seen: { signal?: AbortSignal } = {};
    await assert.rejects(
      runOperation(worker, 'chat', untilAborted(sweeper, seen), { signal: caller.signal }),
      leaseLost,
    );
    assert.notEqual(seen.signal, caller.signal, 'a signal of its own, linked to the caller');
    assert.equal(caller.signal.aborted, false, "the caller's signal is the caller's");
  });

  test("aborts the caller's controller when it was handed one: one signal, not two", async () => {
    const { worker, sweeper } = journals();
    const controller = new AbortController();
    const seen: { signal?: AbortSignal } = {};
    await assert.rejects(runOperation(worker, 'chat', untilAborted(sweeper, seen), { controller }), leaseLost);
    assert.equal(seen.signal, controller.signal);
    assert.equal((controller.signal.reason as BreakwaterError).code, 'JOURNAL_LEASE_LOST');
  });

  test('aborts a Cancellation handed as the controller; op.abortSource is that Cancellation', async () => {
    const { worker, sweeper } = journals();
    const cancellation = new Cancellation();
    let source: unknown;
    const run = runOperation(
      worker,
      'chat',
      (op) => {
        source = op.abortSource;
        return untilAborted(sweeper, {})(op);
      },
      { controller: cancellation },
    );
    await assert.rejects(run, leaseLost);
    assert.equal(source, cancellation, "no cancellation of its own: the caller's is the operation's");
    assert.equal((cancellation.reason as BreakwaterError).code, 'JOURNAL_LEASE_LOST');
  });

  test("without a controller, op.abortSource follows the caller's Cancellation and is not it", async () => {
    const { worker } = journals();
    const caller = new Cancellation();
    let source: { aborted: boolean; reason: unknown } | undefined;
    const run = runOperation(
      worker,
      'chat',
      (op) =>
        new Promise((_, reject) => {
          source = op.abortSource;
          op.abortSource.addEventListener('abort', () => reject(op.abortSource.reason));
          caller.abort(new DOMException('gone', 'AbortError'));
        }),
      { signal: caller },
    );
    await assert.rejects(run, (error: BreakwaterError) => error.category === 'cancelled');
    assert.notEqual(source, caller);
    assert.equal(source?.aborted, true);
  });

  test('signal and controller together are refused', async () => {
    const { worker } = journals();
    await assert.rejects(
      runOperation(worker, 'chat', () => 1, {
        signal: new AbortController().signal,
        controller: new AbortController(),
      }),
      TypeError,
    );
  });
});
