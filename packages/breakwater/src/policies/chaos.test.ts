import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chaos } from './chaos.js';
import { pipeline } from './pipeline.js';

test('chaos is seeded: the same seed injects the same faults, at about the configured rate', async () => {
  const runOnce = async (seed: number) => {
    const run = pipeline(chaos({ faultRate: 0.3, seed }));
    const outcomes: string[] = [];
    for (let i = 0; i < 1_000; i++)
      outcomes.push(await run.execute(async () => 'ok').catch((e: { code: string }) => e.code));
    return outcomes;
  };
  const a = await runOnce(42);
  assert.deepEqual(await runOnce(42), a);
  const faults = a.filter((o) => o === 'CHAOS_OVERLOADED').length;
  assert.ok(faults > 230 && faults < 370, `${faults} faults for a 30% rate`);
  assert.throws(() => chaos({ faultRate: 2 }), /`faultRate`/);
});
