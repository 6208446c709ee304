#!/usr/bin/env node
// Runs the whole suite: type-check, then every *.test.ts under packages/ and test/ with node's
// test runner (TypeScript through tsx, workspace packages resolved to their sources).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['packages', 'test'];

function findTests(dir) {
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (!stat) return [];
  if (stat.isFile()) return dir.endsWith('.test.ts') ? [dir] : [];
  return readdirSync(dir).flatMap((name) =>
    name === 'node_modules' || name === 'dist' ? [] : findTests(join(dir, name)),
  );
}

const files = roots.flatMap(findTests).sort();
if (files.length === 0) {
  console.error('No test files found under', roots.join(', '));
  process.exit(1);
}

if (!process.env.SKIP_TYPECHECK) {
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], {
    stdio: 'inherit',
  });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}

// The multi-process suites (test/scale: several gateway replicas, Redis, Postgres, load at a fixed
// rate) run after the rest and one at a time: beside another test file on a two-core machine their
// replicas starve, renewals of one-second leases miss, and the limiter's figures stop meaning anything.
const isolated = files.filter((file) => file.split(/[\\/]/).includes('scale'));
const together = files.filter((file) => !isolated.includes(file));
let status = 0;
for (const [batch, concurrency] of [
  [together, 2],
  [isolated, 1],
]) {
  if (batch.length === 0) continue;
  const run = spawnSync(
    process.execPath,
    [
      '--conditions=breakwater-source',
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${concurrency}`,
      '--test-timeout=120000',
      ...batch,
    ],
    { stdio: 'inherit' },
  );
  if (run.status !== 0) status = run.status ?? 1;
}
process.exit(status);
