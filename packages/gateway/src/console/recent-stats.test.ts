import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallTrail, Errors } from 'breakwater';
import type { RequestOutcome } from '../server/request-outcome.js';
import { BUCKET_MS, RecentStats } from './recent-stats.js';

function outcome(
  attempts: Array<{ key: string; outcome: 'succeeded' | 'failed'; durationMs: number }>,
  failed = false,
) {
  const trail = new CallTrail();
  attempts.forEach((a, i) => trail.log.push({ ...a, attempt: i + 1, startedAt: 0 }));
  return {
    route: 'r',
    operation: 'chat',
    stream: false,
    target: attempts.at(-1)?.key,
    kind: 'openai',
    outcome: failed ? 'failure' : 'success',
    error: failed ? Errors.timeout({ message: 'slow' }) : undefined,
    trail,
    usage: undefined,
    startedAt: 0,
    durationMs: 1,
    timeToFirstTokenMs: undefined,
  } satisfies RequestOutcome;
}

test('per upstream over the window: attempts, failure rate, mean latency of successes; old buckets fall out', () => {
  let now = 1_000_000;
  const stats = new RecentStats(() => now);
  stats.record(
    outcome([
      { key: 'a', outcome: 'failed', durationMs: 500 },
      { key: 'b', outcome: 'succeeded', durationMs: 100 },
    ]),
  );
  stats.record(outcome([{ key: 'a', outcome: 'succeeded', durationMs: 40 }]));
  assert.deepEqual(stats.upstream('a'), { attempts: 2, failureRate: 0.5, latencyMs: 40 });
  assert.deepEqual(stats.upstream('b'), { attempts: 1, failureRate: 0, latencyMs: 100 });
  assert.deepEqual(stats.upstream('never'), { attempts: 0, failureRate: 0, latencyMs: null });
  now += 30 * BUCKET_MS;
  assert.deepEqual(stats.upstream('a'), { attempts: 0, failureRate: 0, latencyMs: null }, 'five minutes later');
});

test('errors by category/code per bucket, oldest first, over the requests', () => {
  let now = 5_000_000;
  const stats = new RecentStats(() => now);
  stats.record(outcome([{ key: 'a', outcome: 'failed', durationMs: 1 }], true));
  now += BUCKET_MS;
  stats.record(outcome([{ key: 'a', outcome: 'succeeded', durationMs: 1 }]));
  stats.record(outcome([{ key: 'a', outcome: 'failed', durationMs: 1 }], true));
  const series = stats.errors();
  assert.equal(series.at.length, 30);
  assert.deepEqual(series.requests.slice(-2), [1, 2]);
  assert.deepEqual(series.errors['timeout/OPERATION_TIMEOUT']!.slice(-2), [1, 1]);
  assert.ok(series.at.every((start, i) => i === 0 || start - series.at[i - 1]! === BUCKET_MS));
});
