import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The documented examples run as written (docs/agents-and-batches.md shows them).
const run = (name: string): string => {
  const file = fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));
  const child = spawnSync(process.execPath, ['--conditions=breakwater-source', '--import', 'tsx', file], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(child.status, 0, child.stderr);
  return child.stdout;
};

test('examples/agent-tools.ts: structured tool results, full error to the log, no secret to the model', () => {
  const out = run('agent-tools.ts');
  assert.match(out, /call_1: \{"ok":true,"data":\{"city":"Oslo","days":3,"forecast":"sunny"\}/);
  assert.match(out, /call_2: .*"code":"VALIDATION_INVALID_INPUT".*days: /);
  assert.match(out, /call_3: .*"category":"overloaded".*"retryable":true.*"retryAfterMs":20000/);
  assert.match(out, /\[log\] lookup_order: UPSTREAM_OVERLOADED/);
  assert.ok(!out.includes('sk-live-abcdef1234567890'));
});

test('examples/batch.ts: successes and failures side by side with a summary', () => {
  const out = run('batch.ts');
  assert.match(out, /failed: doc-3 -> UPSTREAM_BAD_REQUEST \(retryable false\)/);
  assert.match(out, /failed: doc-7 -> UPSTREAM_RATE_LIMITED \(retryable true\)/);
  assert.match(out, /"total":12,"succeeded":10,"failed":2,"cancelled":0/);
});

test('examples/degraded.ts: the fallback answer is marked degraded', () => {
  const out = run('degraded.ts');
  assert.match(out, /answer: An error-handling and resilience layer \(cached answer\)\./);
  assert.match(out, /headers: \{"x-breakwater-degraded":"cache"\}/);
  assert.match(out, /"category":"overloaded"/);
});
