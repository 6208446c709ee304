import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { googleRetryDelayMs, parseDuration, rateLimitResetMs, retryAfterMs, shouldRetryHeader } from './retry-after.js';

const NOW = Date.parse('2026-11-23T10:00:00Z');

describe('Retry-After parsing', () => {
  test('retry-after-ms wins over retry-after; seconds and HTTP-date both read', () => {
    assert.equal(retryAfterMs({ 'retry-after-ms': '250.5', 'retry-after': '9' }, NOW), 251);
    assert.equal(retryAfterMs({ 'Retry-After': '7' }, NOW), 7000);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': 'Mon, 23 Nov 2026 10:00:30 GMT' }), NOW), 30_000);
    assert.equal(retryAfterMs(new Map([['retry-after', '1']]), NOW), 1000);
    assert.equal(retryAfterMs({ 'retry-after': ['3', '4'] }, NOW), 3000);
  });

  test('garbage, negatives and past dates never produce a negative or NaN delay', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (ms, ra) => {
        const delay = retryAfterMs({ 'retry-after-ms': ms, 'retry-after': ra }, NOW);
        assert.ok(delay === undefined || (Number.isInteger(delay) && delay >= 0 && delay <= 86_400_000));
      }),
      { numRuns: 3000 },
    );
    assert.equal(retryAfterMs({ 'retry-after': 'Mon, 23 Nov 2026 09:00:00 GMT' }, NOW), 0);
    assert.equal(retryAfterMs({ 'retry-after': '-5' }, NOW), undefined);
    assert.equal(retryAfterMs({ 'retry-after': '99999999999' }, NOW), 86_400_000);
  });

  test('a delay in seconds round-trips exactly for any whole number of seconds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 86_400 }),
        (s) => retryAfterMs({ 'retry-after': String(s) }, NOW) === s * 1000,
      ),
    );
  });

  test('Go-style durations and reset headers', () => {
    assert.equal(parseDuration('6m0s'), 360_000);
    assert.equal(parseDuration('1h2m3.5s'), 3_723_500);
    assert.equal(parseDuration('20ms'), 20);
    assert.equal(parseDuration('soon'), undefined);
    assert.equal(parseDuration('5s and more'), undefined);
    assert.equal(
      rateLimitResetMs({ 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-reset-tokens': '20ms' }, NOW),
      1000,
    );
    assert.equal(rateLimitResetMs({ 'anthropic-ratelimit-tokens-reset': '2026-11-23T10:00:05Z' }, NOW), 5000);
    assert.equal(rateLimitResetMs({ 'ratelimit-reset': '12' }, NOW), 12_000);
  });

  test('x-should-retry', () => {
    assert.equal(shouldRetryHeader({ 'x-should-retry': 'true' }), true);
    assert.equal(shouldRetryHeader({ 'x-should-retry': 'FALSE' }), false);
    assert.equal(shouldRetryHeader({ 'x-should-retry': 'maybe' }), undefined);
  });

  test("Gemini's RetryInfo in the body: retryDelay as seconds; anything else no delay, never NaN", () => {
    const body = (retryDelay: unknown) => ({
      error: {
        code: 429,
        status: 'RESOURCE_EXHAUSTED',
        details: [
          { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [] },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay },
        ],
      },
    });
    assert.equal(googleRetryDelayMs(body('12s')), 12_000);
    assert.equal(googleRetryDelayMs(body('1.5s')), 1_500);
    assert.equal(googleRetryDelayMs(body('soon')), undefined);
    assert.equal(googleRetryDelayMs({ error: { details: 'x' } }), undefined);
    assert.equal(googleRetryDelayMs(null), undefined);
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const delay = googleRetryDelayMs(body(value));
        assert.ok(delay === undefined || (Number.isInteger(delay) && delay >= 0 && delay <= 86_400_000));
      }),
      { numRuns: 1000 },
    );
  });
});
