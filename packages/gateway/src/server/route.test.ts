import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallTrail } from 'breakwater';
import { overheadMs } from './route.js';

const attempt = (key: string, startedAt: number, durationMs: number) =>
  ({ key, attempt: 1, startedAt, durationMs, outcome: 'succeeded' }) as const;

test('overhead: time waiting on upstreams counts once, also while hedged attempts overlap', () => {
  const trail = new CallTrail();
  // A hedge: the backup [50, 150) starts beside the slow primary [0, 100); later a third [300, 350).
  for (const a of [attempt('primary', 0, 100), attempt('backup', 50, 100), attempt('third', 300, 50)]) trail.record(a);
  assert.equal(overheadMs(trail, 400), 400 - 150 - 50);
  // An attempt wholly inside another adds nothing.
  trail.record(attempt('inside', 60, 10));
  assert.equal(overheadMs(trail, 400), 200);
  assert.equal(overheadMs(new CallTrail(), 12.5), 12.5, 'no attempt: all of it is ours');
});
