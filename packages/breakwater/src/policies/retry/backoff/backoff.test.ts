import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { seededRandom } from '../../random.js';
import { decorrelatedJitter } from './decorrelated-jitter.js';
import { equalJitter } from './equal-jitter.js';
import { fullJitter } from './full-jitter.js';
import { noJitter } from './no-jitter.js';

test('every backoff stays within its documented bounds and the cap', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 0, max: 2 ** 31 }),
      fc.integer({ min: 1, max: 1000 }),
      (retry, seed, initialMs) => {
        const options = { initialMs, maxMs: 20_000, random: seededRandom(seed) };
        const ceiling = Math.min(20_000, initialMs * 2 ** (retry - 1));
        const full = fullJitter(options).delay(retry, 0);
        assert.ok(full >= 0 && full <= ceiling);
        const equal = equalJitter(options).delay(retry, 0);
        assert.ok(equal >= ceiling / 2 && equal <= ceiling);
        assert.equal(noJitter(options).delay(retry, 0), ceiling);
        const previous = initialMs * retry;
        const decorrelated = decorrelatedJitter(options).delay(retry, previous);
        assert.ok(decorrelated >= initialMs && decorrelated <= Math.min(20_000, Math.max(initialMs, previous * 3)));
      },
    ),
    { numRuns: 2000 },
  );
});

test('bad backoff options name the option', () => {
  assert.throws(() => fullJitter({ initialMs: -1 }), /`initialMs`/);
  assert.throws(() => fullJitter({ initialMs: 100, maxMs: 10 }), /`maxMs`/);
  assert.throws(() => equalJitter({ factor: 0.5 }), /`factor`/);
});
