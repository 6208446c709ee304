import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BreakwaterError } from '../errors/breakwater-error.js';
import { FakeClock } from '../testing/fake-clock.js';
import { pipeline } from './pipeline.js';
import { rateLimiter } from './rate-limiter.js';

test('token bucket per key: a burst, then rejections that say when the next token comes', async () => {
  const clock = new FakeClock();
  const run = pipeline(rateLimiter({ perSecond: 10, burst: 3, clock }), { clock });
  const call = (key: string) => run.execute(async () => 'ok', { key }).catch((e: BreakwaterError) => e);
  for (let i = 0; i < 3; i++) assert.equal(await call('a'), 'ok');
  const rejected = (await call('a')) as BreakwaterError;
  assert.equal(rejected.code, 'RATE_LIMITER_REJECTED');
  assert.equal(rejected.status, 429);
  assert.equal(rejected.retryAfterMs, 100);
  assert.equal(await call('b'), 'ok', 'keys are independent');
  await clock.tick(100);
  assert.equal(await call('a'), 'ok');
});

test('peek says when a key gets its next token without taking one (for limits charged only on failure)', async () => {
  const clock = new FakeClock();
  const limiter = rateLimiter({ perSecond: 2, burst: 2, clock });
  assert.equal(limiter.peek('ip'), 0, 'an unknown key has a full bucket');
  assert.equal(limiter.take('ip'), 0);
  assert.equal(limiter.peek('ip'), 0);
  assert.equal(limiter.peek('ip'), 0, 'peeking takes nothing');
  assert.equal(limiter.take('ip'), 0);
  assert.equal(limiter.peek('ip'), 500);
  await clock.tick(500);
  assert.equal(limiter.peek('ip'), 0);
});
