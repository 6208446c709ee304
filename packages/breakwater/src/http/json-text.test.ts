import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { withTopLevel } from './json-text.js';

const KEYS = ['model', 'messages', 'stream_options', 'modelx', 'Model', 'mo"del', 'mo\\del', 'a,b', '{', '}'];
const body = fc.dictionary(fc.constantFrom(...KEYS), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });
const spacing = fc.constantFrom(undefined, 2, '\t', ' \n ');
/** Any string a model name could be, quotes, backslashes and non-ASCII included. */
const name = fc.string({ unit: fc.constantFrom('a', '"', '\\', '}', ',', ':', 'é', '😀', '\n') });
/** What to set: the model, and sometimes a second key (present in the body or not). */
const values = fc.record({ model: name, stream_options: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ['model'] });
const normal = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

test('the spliced text parses to the parsed body with the keys set, whatever the body and the values', () => {
  fc.assert(
    fc.property(body, spacing, values, (value, space, set) => {
      const text = JSON.stringify(value, null, space);
      const spliced = withTopLevel(text, set);
      // Declined only where a top-level key is written with escapes (the conservative case).
      const escapedKey = Object.keys(value).some((key) => JSON.stringify(key).includes('\\'));
      if (spliced === undefined) return assert.ok(escapedKey, `declined ${text}`);
      assert.deepEqual(JSON.parse(spliced), normal({ ...(JSON.parse(text) as object), ...set }));
    }),
    { numRuns: 3000 },
  );
});

test('the rest of the text is kept byte for byte: numbers and escapes as the client wrote them', () => {
  const text = '{ "model" : "alias", "temperature": 1.0e0, "messages": [{"role":"user","content":"\\u00e9 \\"q\\""}] }';
  assert.equal(
    withTopLevel(text, { model: 'gpt-4o' }),
    '{ "model" :"gpt-4o", "temperature": 1.0e0, "messages": [{"role":"user","content":"\\u00e9 \\"q\\""}] }',
  );
  // Only the top level: a nested key of the same name is the client's.
  assert.equal(
    withTopLevel('{"messages":[{"model":"x"}],"model":{"a":[1,"}"]}}', { model: 'm' }),
    '{"messages":[{"model":"x"}],"model":"m"}',
  );
  // An absent key is added first; the object may have been empty.
  assert.equal(
    withTopLevel('{"model":"a","n":2.50}', { stream_options: { include_usage: true }, model: 'm' }),
    '{"stream_options":{"include_usage":true},"model":"m","n":2.50}',
  );
  assert.equal(withTopLevel(' { } ', { model: 'm' }), ' {"model":"m" } ');
});

test('undefined (serialise instead) where a splice could disagree with the parser', () => {
  // Twice: JSON.parse keeps the last; escaped: another spelling of the same key could be there.
  assert.equal(withTopLevel('{"model":"a","x":1,"model":"b"}', { model: 'm' }), undefined);
  assert.equal(withTopLevel('{"mo\\u0064el":"a"}', { model: 'm' }), undefined);
  assert.equal(withTopLevel('{"model":"a","mo\\u0064el":"b"}', { model: 'm' }), undefined);
  assert.equal(withTopLevel('[{"model":"a"}]', { model: 'm' }), undefined);
  assert.equal(withTopLevel('"model"', { model: 'm' }), undefined);
});
