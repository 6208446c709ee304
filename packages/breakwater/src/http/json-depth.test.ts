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

/** Reference: a character at a time, a backslash in a string taking the character after it. */
function exceedsByCharacters(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (++depth > max) return true;
    } else if (c === '}' || c === ']') depth--;
  }
  return false;
}

test('agrees with a character-by-character scan for any text: escapes, runs of backslashes, unclosed strings', () => {
  const text = fc
    // Few characters, mostly quotes, backslashes and brackets: the runs that decide escapes are common.
    .array(fc.constantFrom('"', '\\', '\\', '[', '{', ']', 'a'), { maxLength: 40 })
    .map((chars) => chars.join(''));
  fc.assert(
    fc.property(text, fc.integer({ min: 0, max: 3 }), (body, max) => {
      assert.equal(jsonNestingExceeds(body, max), exceedsByCharacters(body, max));
    }),
    { numRuns: 2000 },
  );
});

test('a nesting bomb is caught without parsing it', () => {
  assert.equal(jsonNestingExceeds('['.repeat(100_000), 64), true);
  assert.equal(jsonNestingExceeds(`{"a":"${'['.repeat(1000)}"}`, 2), false);
  assert.equal(jsonNestingExceeds('{"a":"\\\\"}', 1), false);
  // An escaped quote does not end the string; the brackets after it are still inside.
  assert.equal(jsonNestingExceeds('{"a":"\\"[[["}', 1), false);
  assert.equal(jsonNestingExceeds('{"a":"\\\\"}[[[', 1), true);
});
