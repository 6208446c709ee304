import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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
const ADMIN_KEY = 'admin-key-for-the-workers-test';
const file = join(dir, 'workers.yaml');
let ok: Simulator;
let down: Simulator;
let gateway: GatewayProcess;

const config = (alias: string) => `
server: { port: 0, workers: 2 }
journal: { memory: true }
admin: { keySha256: ${createHash('sha256').update(ADMIN_KEY).digest('hex')} }
providers:
  ok: { baseUrl: "${ok.url}" }
  down: { baseUrl: "${down.url}", breaker: { failures: 2, breakMs: 60000, probe: false } }
routes:
  ${alias}: { targets: [{ provider: ok, model: a }], rateLimit: { perSecond: 0.1, burst: 5 } }
  broken: { targets: [{ provider: down, model: a }], retry: { maxAttempts: 1 } }
`;

/** One request on a fresh connection: the primary hands connections to the workers in turn. */
function fresh(
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${gateway.url}${path}`,
      {
        method: body === undefined ? 'GET' : 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body: text, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  });
}
const chat = (model: string) => fresh('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] });
// The primary's children that run the gateway (tsx may also start an esbuild service beside them).
const workerPids = () =>
  execFileSync('pgrep', ['-P', String(gateway.pid), '-f', 'cli/main'], { encoding: 'utf8' })
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
    // The burst of 5 (plus at most a token refilled meanwhile: one per 10 s); alone, each worker would admit 5.
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

  test('a console login made on one worker holds on every worker, and so does the logout', async () => {
    const login = await fresh('/console/login', new URLSearchParams({ name: 'Ada', key: ADMIN_KEY }).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(login.status, 303);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const snapshots = async () =>
      Promise.all([0, 1, 2, 3].map(() => fresh('/console/api/snapshot', undefined, { cookie }).then((r) => r.status)));
    // The login reaches the other worker through the primary in a moment.
    await eventually(snapshots, (statuses) => statuses.every((s) => s === 200), 'every worker to know the login');
    const page = await fresh('/console', undefined, { cookie });
    const csrf = /name="csrf" content="([^"]+)"/.exec(page.body)![1]!;
    assert.equal((await fresh('/console/logout', {}, { cookie, 'x-csrf-token': csrf })).status, 200);
    await eventually(snapshots, (statuses) => statuses.every((s) => s === 401), 'every worker to know the logout');
  });

  test('SIGHUP reloads every worker; a worker that dies is replaced', async () => {
    writeFileSync(file, config('renamed'));
    process.kill(gateway.pid, 'SIGHUP');
    // Every fresh connection, whichever worker takes it, sees the new route.
    await eventually(
      () => Promise.all([0, 1, 2, 3].map(() => fresh('/v1/models').then((r) => r.body))),
      (bodies) => bodies.every((b) => b.includes('"renamed"') && !b.includes('"chat"')),
      'both workers to reload',
      15_000,
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
