import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { jsonNestingExceeds } from './json-depth.js';

/** Reference: the depth of a parsed value. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value as object);
  return 1 + Math.max(0, ...children.map(depthOf));
}

test('agrees with the depth of the parsed value for any JSON (brackets inside strings ignored)', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 10 }), (value, max) => {
      const text = JSON.stringify(value);
      assert.equal(jsonNestingExceeds(text, max), depthOf(value) > max);
    }),
    { numRuns: 500 },
  );
});

test('a nesting bomb is caught without parsing it', () => {
  assert.equal(jsonNestingExceeds('['.repeat(100_000), 64), true);
  assert.equal(jsonNestingExceeds(`{"a":"${'['.repeat(1000)}"}`, 2), false);
  assert.equal(jsonNestingExceeds('{"a":"\\\\"}', 1), false);
});
