import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('a million calls through a full pipeline leave the heap flat, no listeners and nothing keeping the process alive', () => {
  const script = fileURLToPath(new URL('./million-calls.ts', import.meta.url));
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', '--conditions=breakwater-source', '--import', 'tsx', script],
    {
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  // A leftover ref'd timer or handle would keep the child running until the spawn timeout kills it.
  assert.equal(child.signal, null, `the child did not exit by itself: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  const report = JSON.parse(child.stdout.trim().split('\n').pop()!) as {
    calls: number;
    warmHeapMb: number;
    endHeapMb: number;
    signalListeners: number;
    activeResources: string[];
  };
  assert.equal(report.calls, 1_000_000);
  assert.equal(report.signalListeners, 0, 'no abort listeners left on the caller signal');
  assert.deepEqual(
    report.activeResources.filter((r) => r !== 'Timeout'),
    [],
    'no sockets, no immediates',
  );
  assert.ok(
    report.endHeapMb - report.warmHeapMb < 8,
    `heap grew from ${report.warmHeapMb} MB to ${report.endHeapMb} MB`,
  );
});
