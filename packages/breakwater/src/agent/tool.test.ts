import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { fallback } from '../policies/fallback.js';
import { pipeline } from '../policies/pipeline.js';
import { retry } from '../policies/retry/retry-policy.js';
import { constantBackoff } from '../policies/retry/backoff/no-jitter.js';
import { defineTool } from './tool.js';

test('success carries the data and duration; JSON-string arguments are parsed', async () => {
  const add = defineTool({
    name: 'add',
    input: z.object({ a: z.number(), b: z.number() }),
    execute: ({ a, b }) => a + b,
  });
  const result = await add.run('{"a":1,"b":2}');
  assert.ok(result.ok);
  assert.equal(result.data, 3);
  assert.ok(result.durationMs >= 0);
  const bad = await add.run('{not json');
  assert.ok(!bad.ok && bad.code === 'VALIDATION_INVALID_INPUT' && /not valid JSON/.test(bad.message));
});

test('policies apply: a transient failure is retried; a fallback result is marked degraded', async () => {
  let calls = 0;
  const flaky = defineTool({
    name: 'flaky',
    pipeline: pipeline(retry({ maxAttempts: 3, backoff: constantBackoff(0) })),
    execute: async () => {
      if (++calls < 3) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
      return 'ok';
    },
  });
  const result = await flaky.run({});
  assert.ok(result.ok && result.data === 'ok');
  assert.equal(calls, 3);
  const cached = defineTool({
    name: 'cached',
    pipeline: pipeline(fallback({ when: ['network'], use: () => 'stale', reason: 'cache' })),
    execute: async () => {
      throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    },
  });
  const degraded = await cached.run({});
  assert.ok(degraded.ok);
  assert.deepEqual(degraded.degraded, { reason: 'cache', code: 'UPSTREAM_CONNECTION_FAILED', category: 'network' });
});

test('throwOnError hands the classified error to the loop; names are checked', async () => {
  const failing = defineTool({
    name: 'boom',
    throwOnError: true,
    execute: () => {
      throw new Error('x');
    },
  });
  await assert.rejects(failing.run({}), (error: { code: string }) => error.code === 'INTERNAL_ERROR');
  assert.throws(() => defineTool({ name: 'has space', execute: () => 1 }), /`name`/);
});
