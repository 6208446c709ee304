import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };

test('the README quickstart is the two commands the project defines', () => {
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
  assert.deepEqual(blocks.slice(0, 2), ['npm ci && npm start', 'npm test']);
  assert.ok(pkg.scripts['start'] && pkg.scripts['test']);
  assert.match(readFileSync(new URL('.ci/run', root), 'utf8'), /\bnpm test\b/, '.ci/run calls the README test command');
});

test('`npm start` runs and shows a retried rate limit and an unretried quota error', () => {
  const run = spawnSync('npm', ['start', '--silent'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /attempt 1: LLM_RATE_LIMITED .*retryable true, retry after 300 ms/);
  assert.match(run.stdout, /attempt 2: ok/);
  assert.match(run.stdout, /attempt 1: LLM_QUOTA_EXCEEDED .*retryable false/);
  assert.match(run.stdout, /received 3 requests/);
});
