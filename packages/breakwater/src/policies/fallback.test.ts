import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BreakwaterError } from '../errors/breakwater-error.js';
import { fallback } from './fallback.js';
import { pipeline } from './pipeline.js';

const error = (category: 'context_length' | 'overloaded' | 'validation') =>
  new BreakwaterError({ code: `LLM_${category.toUpperCase()}`, category, origin: 'dependency' });

test('fallback by category, chained, with the result marked degraded', async () => {
  const run = pipeline(
    fallback(
      { when: ['context_length'], use: () => 'large-model answer', reason: 'larger_context_model' },
      {
        when: ['overloaded', 'network'],
        use: () => {
          throw error('overloaded');
        },
      },
      { when: ['overloaded'], use: () => 'cached answer', reason: 'cache' },
    ),
  );
  const viaLarge = await run.executeWithContext(async () => {
    throw error('context_length');
  });
  assert.equal(viaLarge.value, 'large-model answer');
  assert.deepEqual(viaLarge.ctx.degraded, {
    reason: 'larger_context_model',
    code: 'LLM_CONTEXT_LENGTH',
    category: 'context_length',
  });
  const viaCache = await run.executeWithContext(async () => {
    throw error('overloaded');
  });
  assert.equal(viaCache.value, 'cached answer', 'the second rule failed; the chain went on');
  const fine = await run.executeWithContext(async () => 'real');
  assert.equal(fine.ctx.degraded, undefined);
  await assert.rejects(
    run.execute(async () => {
      throw error('validation');
    }),
    (e: BreakwaterError) => e.category === 'validation',
    "the caller's own errors never fall back",
  );
});
