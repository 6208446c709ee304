import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { eventually } from '../support/wait-for.js';

// server.workers: 2 without Redis: the workers share the port and, through their primary, the
// breakers, the route limits and the retry budget.
const dir = mkdtempSync(join(tmpdir(), 'bw-workers-'));
const file = join(dir, 'workers.yaml');
let ok: Simulator;
let down: Simulator;
let gateway: GatewayProcess;

const config = (alias: string) => `
server: { port: 0, workers: 2 }
journal: { memory: true }
providers:
  ok: { baseUrl: "${ok.url}" }
  down: { baseUrl: "${down.url}", breaker: { failures: 2, breakMs: 60000, probe: false } }
routes:
  ${alias}: { targets: [{ provider: ok, model: a }], rateLimit: { perSecond: 1, burst: 5 } }
  broken: { targets: [{ provider: down, model: a }], retry: { maxAttempts: 1 } }
`;

/** One request on a fresh connection: the primary hands connections to the workers in turn. */
function fresh(path: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${gateway.url}${path}`,
      { method: body ? 'POST' : 'GET', agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}
const chat = (model: string) => fresh('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] });
const workerPids = () =>
  execFileSync('pgrep', ['-P', String(gateway.pid)], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .filter(Boolean);

describe('server.workers: several processes, one gateway', () => {
  before(async () => {
    ok = await startSimulator();
    down = await startSimulator();
    down.setDown(true);
    gateway = await startGatewayProcess(file, config('chat'));
  });
  after(async () => {
    await gateway?.stop();
    await Promise.all([ok?.close(), down?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('two workers serve the port and share one rate limit through the primary', async () => {
    assert.equal(workerPids().length, 2);
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await chat('chat')).status);
    const admitted = statuses.filter((s) => s === 200).length;
    // The burst of 5 (plus at most a token refilled meanwhile); alone, each worker would admit 5.
    assert.ok(admitted >= 5 && admitted <= 6, `admitted ${admitted}: ${statuses}`);
    assert.equal(statuses.filter((s) => s === 429).length, 12 - admitted);
  });

  test('faults seen by different workers open one breaker for both', async () => {
    for (let i = 0; i < 2; i++) assert.equal((await chat('broken')).status, 503);
    // The opening travels through the primary in a moment: then every connection fails fast.
    await eventually(
      () => chat('broken'),
      (r) => r.body.includes('CIRCUIT_OPEN'),
      'a worker to fail fast',
    );
    for (let i = 0; i < 4; i++) assert.match((await chat('broken')).body, /CIRCUIT_OPEN/, 'both workers fail fast');
    // Alone, each worker would have needed its own 2 faults (4 calls); at most one call raced the news.
    assert.ok(down.stats().received <= 3, `${down.stats().received} upstream calls`);
  });

  test('SIGHUP reloads every worker; a worker that dies is replaced', async () => {
    writeFileSync(file, config('renamed'));
    process.kill(gateway.pid, 'SIGHUP');
    // Every fresh connection, whichever worker takes it, sees the new route.
    await eventually(
      () => Promise.all([0, 1, 2, 3].map(() => fresh('/v1/models').then((r) => r.body))),
      (bodies) => bodies.every((b) => b.includes('"renamed"') && !b.includes('"chat"')),
      'both workers to reload',
    );
    const [victim] = workerPids();
    process.kill(Number(victim), 'SIGKILL');
    await eventually(
      async () => workerPids(),
      (pids) => pids.length === 2 && !pids.includes(victim!),
      'a replacement worker',
      15_000,
    );
    await eventually(
      () => fresh('/health/live').then((r) => r.status),
      (status) => status === 200,
      'the gateway to answer',
    );
    assert.match(gateway.output(), new RegExp(`worker ${victim} exited \\(SIGKILL\\); starting another`));
  });

  test('SIGTERM drains every worker and the primary exits 0', async () => {
    const workers = workerPids();
    assert.equal(await gateway.stop(), 0, gateway.output());
    for (const pid of workers) assert.throws(() => process.kill(Number(pid), 0), 'worker exited too');
  });
});
