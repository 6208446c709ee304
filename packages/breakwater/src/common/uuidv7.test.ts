import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uuidv7 } from './uuidv7.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('uuidv7: RFC 9562 layout, the timestamp in front, unique and increasing across random-pool refills', () => {
  const start = Date.now() + 60_000; // later than any id made before in this process
  const ids = Array.from({ length: 2_000 }, (_, i) => uuidv7(start + Math.floor(i / 700)));
  for (const id of ids) assert.match(id, V7);
  assert.equal(new Set(ids).size, ids.length, 'no id repeats (the pool is never reused)');
  assert.deepEqual([...ids].sort(), ids, 'sorted by creation, also within one millisecond');
  assert.equal(ids[0]!.replace(/-/g, '').slice(0, 12), start.toString(16).padStart(12, '0'));
  // Random tails differ: ids from one millisecond are not the same bits with a counter only.
  const tails = new Set(ids.slice(0, 700).map((id) => id.slice(-12)));
  assert.ok(tails.size > 690);
});
