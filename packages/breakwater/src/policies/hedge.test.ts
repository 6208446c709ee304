import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock, settle } from '../testing/fake-clock.js';
import { hedge } from './hedge.js';
import { pipeline } from './pipeline.js';

test('a slow call gets a second attempt; the first success wins and the loser is aborted', async () => {
  const clock = new FakeClock();
  const signals: AbortSignal[] = [];
  const run = pipeline(hedge({ delayMs: 100 }), { clock }).execute((ctx) => {
    signals.push(ctx.signal);
    const attempt = signals.length;
    return new Promise<string>((resolve) =>
      clock.setTimer(() => resolve(`attempt ${attempt}`), attempt === 1 ? 1_000 : 50),
    );
  });
  await clock.tick(100);
  assert.equal(signals.length, 2, 'hedged after 100 ms');
  await clock.tick(50);
  assert.equal(await run, 'attempt 2');
  assert.equal(signals[0]!.aborted, true, 'the loser was aborted');
  assert.equal(signals[1]!.aborted, false);
});

test('fails only when every attempt failed, and hedges at once after a fast failure', async () => {
  const clock = new FakeClock();
  let calls = 0;
  const run = pipeline(hedge({ delayMs: 1_000, maxHedges: 2 }), { clock }).execute(async () => {
    calls++;
    throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
  });
  const result = run.catch((e: { code: string }) => e.code);
  await settle();
  await settle();
  assert.equal(await result, 'UPSTREAM_CONNECTION_FAILED');
  assert.equal(calls, 3);
  assert.equal(clock.now(), 0);
});
