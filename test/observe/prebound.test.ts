import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { PreboundCounter, PreboundHistogram } from 'breakwater/prometheus';

// The prebound series replace prom-client's Counter and Histogram on the gateway's request path.
// A dashboard must not tell the difference: for any updates, the registry writes the same text
// (and the same JSON) as it does for prom-client's own metrics.
const BUCKETS = [0.005, 0.01, 0.1, 1, 10];
const LABELS = ['key', 'outcome'] as const;
const update = fc.record({
  key: fc.constantFrom('openai', 'anthropic', 'a"b\\c\nd'),
  outcome: fc.constantFrom('success', 'failure'),
  value: fc.oneof(fc.constantFrom(...BUCKETS), fc.double({ min: 0, max: 20, noNaN: true })),
  amount: fc.integer({ min: 0, max: 5 }),
});

test('the registry writes the same text and JSON as for prom-client metrics given the same updates', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(update, { maxLength: 40 }), async (updates) => {
      const theirs = new Registry();
      const ours = new Registry();
      for (const registry of [theirs, ours]) registry.setDefaultLabels({ instance: 'a' });
      const config = { name: 'x_seconds', help: 'h', labelNames: LABELS, buckets: BUCKETS };
      const histograms = [
        new Histogram({ ...config, registers: [theirs] }),
        new PreboundHistogram({ ...config, registers: [ours] }),
      ];
      const counterConfig = { name: 'x_total', help: 'c', labelNames: LABELS };
      const counters = [
        new Counter({ ...counterConfig, registers: [theirs] }),
        new PreboundCounter({ ...counterConfig, registers: [ours] }),
      ];
      for (const { key, outcome, value, amount } of updates) {
        for (const histogram of histograms) histogram.labels({ key, outcome }).observe(value);
        for (const counter of counters) counter.labels({ key, outcome }).inc(amount);
      }
      assert.equal(await ours.metrics(), await theirs.metrics());
      assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
    }),
    { numRuns: 100 },
  );
});

test('a series kept across a reset keeps counting, from zero', async () => {
  const registry = new Registry();
  const counter = new PreboundCounter({ name: 'c_total', help: 'c', labelNames: ['k'], registers: [registry] });
  const histogram = new PreboundHistogram({ name: 'h', help: 'h', buckets: [1], registers: [registry] });
  const held = counter.labels({ k: 'a' });
  const observed = histogram.labels();
  held.inc(3);
  observed.observe(0.5);
  registry.resetMetrics();
  held.inc();
  observed.observe(2);
  const text = await registry.metrics();
  assert.match(text, /^c_total\{k="a"\} 1$/m);
  assert.match(text, /^h_bucket\{le="1"\} 0$/m);
  assert.match(text, /^h_count 1$/m);
});

test('an unknown label, a negative or non-finite update are refused as prom-client refuses them', () => {
  const counter = new PreboundCounter({ name: 'c_total', help: 'c', labelNames: ['k'] });
  const histogram = new PreboundHistogram({ name: 'h', help: 'h', labelNames: ['k'], buckets: [1] });
  assert.throws(() => counter.labels({ k: 'a', other: 'b' } as never), /not included in initial labelset/);
  assert.throws(() => counter.labels({ k: 'a' }).inc(-1), TypeError);
  assert.throws(() => histogram.labels({ k: 'a' }).observe(Number.NaN), TypeError);
  assert.equal(counter.labels({ k: 'a' }), counter.labels({ k: 'a' }), 'one series per label set');
});
