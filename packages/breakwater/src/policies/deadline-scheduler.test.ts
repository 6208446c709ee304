import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FakeClock } from '../testing/fake-clock.js';
import type { TimerHandle } from './clock.js';
import { DeadlineScheduler, type Entry } from './deadline-scheduler.js';

type Step = { op: 'schedule'; inMs: number } | { op: 'cancel'; pick: number } | { op: 'tick'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('schedule' as const), inMs: fc.integer({ min: 0, max: 500 }) }),
  fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 300 }) }),
);

test('every deadline not cancelled fires once, exactly when it falls due; a cancelled one never does', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 400 }), async (steps) => {
      const clock = new FakeClock();
      const scheduler = new DeadlineScheduler(clock);
      const fired = new Map<number, number>();
      const live = new Map<number, { at: number; entry: Entry }>();
      const cancelled = new Set<number>();
      let nextId = 0;
      for (const s of steps) {
        if (s.op === 'schedule') {
          const id = nextId++;
          const at = clock.now() + s.inMs;
          const entry = scheduler.schedule(at, () => {
            assert.ok(!fired.has(id), `deadline ${id} fired twice`);
            fired.set(id, clock.now());
          });
          live.set(id, { at, entry });
        } else if (s.op === 'cancel' && live.size > 0) {
          const id = [...live.keys()][s.pick % live.size]!;
          if (!fired.has(id)) {
            scheduler.cancel(live.get(id)!.entry);
            cancelled.add(id);
          }
          live.delete(id);
        } else if (s.op === 'tick') {
          await clock.tick(s.ms);
        }
      }
      await clock.tick(1_000);
      for (let id = 0; id < nextId; id++) {
        if (cancelled.has(id)) assert.ok(!fired.has(id), `cancelled deadline ${id} fired`);
      }
      for (const [id, { at }] of live) assert.equal(fired.get(id), at, `deadline ${id} fired at its time`);
      assert.equal(scheduler.size, 0);
    }),
    { numRuns: 200 },
  );
});

test('calls that each settle before their deadline arm the one timer once, not once per compaction', async () => {
  const clock = new FakeClock();
  let armed = 0;
  const counting = {
    now: () => clock.now(),
    setTimer: (fn: () => void, ms: number): TimerHandle => (armed++, clock.setTimer(fn, ms)),
    clearTimer: (handle: TimerHandle) => clock.clearTimer(handle),
  };
  const scheduler = new DeadlineScheduler(counting);
  for (let call = 0; call < 1_000; call++) {
    const entry = scheduler.schedule(clock.now() + 1_000, () => assert.fail('a settled call timed out'));
    scheduler.cancel(entry);
    if (call % 100 === 0) await clock.tick(1);
  }
  assert.equal(armed, 1);
  assert.equal(scheduler.size, 0);
  // The stale timer fires at its time, finds nothing due, and leaves nothing armed.
  await clock.tick(2_000);
  assert.equal(clock.pending, 0);
});
