import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alternatives } from '../policies/alternatives.js';
import { circuitBreaker } from '../policies/breaker/circuit-breaker.js';
import { consecutiveFailures } from '../policies/breaker/consecutive-failures.js';
import { pipeline } from '../policies/pipeline.js';
import { instrument, subscribeTelemetry } from './telemetry.js';

const down = () => Promise.reject(Object.assign(new Error('HTTP 503'), { status: 503, headers: {} }));

test('subscribeTelemetry: a breaker shared by two pipelines reports each transition and rejection once', async () => {
  const shared = circuitBreaker({ strategy: consecutiveFailures(1), breakMs: 60_000 });
  const routeA = pipeline(shared);
  const routeB = pipeline(shared);
  const seen: string[] = [];
  const stop = subscribeTelemetry({
    'breaker.stateChange': ({ key, to }) => seen.push(`${key}:${to}`),
    'breaker.rejected': ({ key }) => seen.push(`${key}:rejected`),
  });
  try {
    await routeA.execute(down, { key: 'upstream-shared-1' }).catch(() => undefined);
    await routeB.execute(down, { key: 'upstream-shared-1' }).catch(() => undefined);
  } finally {
    stop();
  }
  assert.deepEqual(seen, ['upstream-shared-1:open', 'upstream-shared-1:rejected']);
  await routeA.execute(down, { key: 'upstream-shared-2' }).catch(() => undefined);
  assert.equal(seen.length, 2, 'nothing after unsubscribing');
});

test('instrument reaches nested pipelines and branches, each emitter once', async () => {
  const shared = circuitBreaker({ strategy: consecutiveFailures(1), breakMs: 60_000 });
  const run = pipeline(
    alternatives([
      { key: 'a', policy: pipeline(shared) },
      { key: 'b', policy: pipeline(shared) },
    ]),
  );
  const seen: string[] = [];
  const off = instrument(run, {
    'breaker.stateChange': ({ key, to }) => seen.push(`${key}:${to}`),
    'alternatives.fallback': ({ key, to, reason }) => seen.push(`${key}->${to}:${reason}`),
    'pipeline.call': ({ attempts, error }) => seen.push(`call:${attempts}:${error?.code ?? 'ok'}`),
  });
  await run.execute(down).catch(() => undefined);
  off();
  assert.deepEqual(seen, ['a:open', 'a->b:overloaded', 'b:open', 'call:2:UPSTREAM_OVERLOADED']);
});
