import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BreakwaterError } from '../errors/breakwater-error.js';
import { pipeline } from './pipeline.js';
import { retry } from './retry/retry-policy.js';

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
