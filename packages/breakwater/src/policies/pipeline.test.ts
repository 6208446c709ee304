import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BreakwaterError } from '../errors/breakwater-error.js';
import { pipeline } from './pipeline.js';
import { retry } from './retry/retry-policy.js';
import type { CallContext } from './context.js';
import type { Next } from './policy.js';
import { constantBackoff } from './retry/backoff/no-jitter.js';
import { timeout } from './timeout.js';

test('a caller whose signal is already aborted gets a cancellation and no work is started', async () => {
  let ran = false;
  const error = await pipeline(retry())
    .execute(
      async () => {
        ran = true;
      },
      { signal: AbortSignal.abort() },
    )
    .catch((e: BreakwaterError) => e);
  assert.equal(ran, false);
  assert.equal((error as BreakwaterError).category, 'cancelled');
});

test('a pipeline with no policy still classifies rejections and turns sync throws and plain values into promises', async () => {
  const run = pipeline();
  assert.equal(await run.execute(() => 42), 42);
  const error = await run
    .execute(() => {
      throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    })
    .catch((e: BreakwaterError) => e);
  assert.equal((error as BreakwaterError).code, 'UPSTREAM_CONNECTION_FAILED');
});

test('a pipeline is a policy: it nests inside another, and its policies run around the inner rest', async () => {
  const order: string[] = [];
  const tag = (name: string) => ({
    run: async <T>(ctx: CallContext, next: Next<T>): Promise<T> => {
      order.push(`${name}>`);
      try {
        return await next(ctx);
      } finally {
        order.push(`<${name}`);
      }
    },
  });
  const inner = pipeline(tag('b'), tag('c'));
  const outer = pipeline(tag('a'), inner, tag('d'));
  for (let i = 0; i < 2; i++) {
    order.length = 0;
    assert.equal(await outer.execute(() => 'value'), 'value');
    assert.deepEqual(order, ['a>', 'b>', 'c>', 'd>', '<d', '<c', '<b', '<a']);
  }
  assert.equal(await inner.execute(() => 'alone'), 'alone', 'still usable on its own');
});

test('a nested retry counts attempts that reached the callee', async () => {
  const run = pipeline(timeout(10_000), pipeline(retry({ maxAttempts: 3, backoff: constantBackoff(0) })));
  let calls = 0;
  const { ctx } = await run.executeWithContext(() => {
    if (++calls < 3) throw Object.assign(new Error('busy'), { status: 503, headers: {} });
    return 'ok';
  });
  assert.equal(ctx.invocations, 3);
});
