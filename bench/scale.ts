// npm run bench:scale — what sharing state across replicas buys, in one run, as ratios:
//  1. outage: three gateway processes (built, `breakwater serve`) in front of one upstream that
//     answers 503 to everything for BENCH_OUTAGE_SECONDS (default 30) under a fixed client rate;
//     upstream requests per client request with per-process state, then with state.redis.
//  2. workers: saturation throughput of `server.workers: 1` vs `2` (alternating runs, the median of
//     BENCH_ROUNDS each; the load generator is a process of its own).
//  3. the hot path: a breaker check with a Redis store (answered from local state) vs without one,
//     and a Redis-backed rate-limit token (one round trip), per call.
// Each server runs in its own process; the clients run here. The last line is one JSON object.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { circuitBreaker, pipeline, rateLimiter } from 'breakwater';
import { redisState } from 'breakwater/redis';
import { measureInterleaved, round, table } from './harness.js';
import { waitForHttp } from './processes.js';
import { atFixedRate } from '../test/support/fixed-rate.js';
import { freePort } from '../test/support/free-port.js';

const OUTAGE_SECONDS = Number(process.env.BENCH_OUTAGE_SECONDS ?? 30);
const CLIENT_RATE = Number(process.env.BENCH_CLIENT_RATE ?? 60);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const THROUGHPUT_ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'packages/gateway/dist/cli/main.js');
const AUTOCANNON = join(ROOT, 'node_modules/autocannon/autocannon.js');

spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
const dir = mkdtempSync(join(tmpdir(), 'bw-bench-scale-'));
const children: ChildProcess[] = [];
const start = (args: string[]): ChildProcess => {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: dir,
    stdio: 'ignore',
    env: { ...process.env, OPENAI_API_KEY: '', LOG_LEVEL: 'error' },
  });
  children.push(child);
  return child;
};
const stop = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
};

async function simulator(rates: string[]): Promise<{ url: string; child: ChildProcess; received(): Promise<number> }> {
  const port = await freePort();
  const child = start(['simulate', '--port', String(port), ...rates.flatMap((r) => ['--rate', r])]);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/_simulator/stats`);
  return {
    url: `${url}/v1`,
    child,
    received: async () => ((await (await fetch(`${url}/_simulator/stats`)).json()) as { received: number }).received,
  };
}

async function gateway(name: string, lines: string[], workers = 1): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const file = join(dir, `${name}.yaml`);
  const server = `server: { port: ${port}, maxInFlight: 4096, maxQueue: 4096, workers: ${workers} }`;
  writeFileSync(file, [server, ...lines].join('\n'));
  const child = start(['serve', '--config', file]);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health/live`);
  return { url, child };
}

const chatBody = JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hello' }] });

/** CLIENT_RATE requests a second, round-robin over `urls`, for `seconds`; resolves with the count sent. */
function clients(urls: string[], seconds: number): Promise<number> {
  return atFixedRate(CLIENT_RATE, seconds * 1000, (i) =>
    fetch(`${urls[i % urls.length]}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chatBody,
    }).then(
      (r) => r.arrayBuffer(),
      () => undefined,
    ),
  );
}

/** Three replicas through an outage: upstream requests per client request. */
async function outage(shared: boolean): Promise<{ clientRequests: number; upstreamRequests: number }> {
  const upstream = await simulator(['unavailable=1']);
  const prefix = `bwbench-${randomBytes(4).toString('hex')}`;
  const config = [
    `providers: { sim: { baseUrl: "${upstream.url}" } }`, // default breaker: 5 faults, 5 s break doubling to 20 s, probes
    'routes: { chat: { targets: [{ provider: sim, model: m }], retry: { maxAttempts: 3 } } }',
    'journal: { memory: true }',
    ...(shared ? [`state: { redis: { url: "${REDIS_URL}", prefix: ${prefix} } }`] : []),
  ];
  const replicas = [];
  for (let i = 0; i < 3; i++) replicas.push(await gateway(`outage-${shared}-${i}`, config));
  const before = await upstream.received();
  const clientRequests = await clients(
    replicas.map((r) => r.url),
    OUTAGE_SECONDS,
  );
  const upstreamRequests = (await upstream.received()) - before;
  await Promise.all([...replicas.map((r) => stop(r.child)), stop(upstream.child)]);
  return { clientRequests, upstreamRequests };
}

/** Saturation throughput of one gateway with `workers` processes. */
async function throughput(workers: number): Promise<{ rps: number; errors: number }> {
  const upstream = await simulator([]);
  const gw = await gateway(
    `workers-${workers}`,
    [
      `providers: { sim: { baseUrl: "${upstream.url}", concurrency: { max: 4096, queue: 4096 } } }`,
      'routes: { chat: { targets: [{ provider: sim, model: m }] } }',
      'journal: { memory: true }',
    ],
    workers,
  );
  // The load generator in a process of its own too: on two cores it must not share the bench's.
  const work = (duration: number) => {
    const args = [AUTOCANNON, '-j', '-c', '32', '-d', String(duration), '-m', 'POST'];
    args.push('-H', 'content-type=application/json', '-b', chatBody, `${gw.url}/v1/chat/completions`);
    const run = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    return JSON.parse(run.stdout) as {
      requests: { average: number };
      errors: number;
      non2xx: number;
      timeouts: number;
    };
  };
  work(3); // warm-up: JIT, pools, every worker
  const run = work(SECONDS);
  await Promise.all([stop(gw.child), stop(upstream.child)]);
  return { rps: run.requests.average, errors: run.errors + run.non2xx + run.timeouts };
}

/** The breaker check on the hot path, with and without a Redis store; a Redis-backed token. */
async function hotPath() {
  const redis = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  redis.on('error', () => {});
  await new Promise((resolve) => redis.once('ready', resolve));
  const store = redisState({ redis, prefix: `bwbench-${randomBytes(4).toString('hex')}`, timeoutMs: 50 });
  const local = pipeline(circuitBreaker());
  const shared = pipeline(circuitBreaker({ store, name: 'bench' }));
  const limited = pipeline(rateLimiter({ store, name: 'bench', perSecond: 1e9 }));
  const callee = async () => 1;
  const ns = await measureInterleaved(
    {
      local: () => local.execute(callee, { key: 'k' }),
      redis: () => shared.execute(callee, { key: 'k' }),
    },
    100_000,
    7,
  );
  const tokenNs = await measureInterleaved({ token: () => limited.execute(callee, { key: 'k' }) }, 2_000, 5);
  const fallbacks = store.health().fallbacks;
  await store.close();
  redis.disconnect();
  return { localNs: ns['local']!, redisNs: ns['redis']!, tokenNs: tokenNs['token']!, fallbacks };
}

try {
  const perProcess = await outage(false);
  const sharedRun = await outage(true);
  // Alternated, so a slow spell of the shared machine does not fall on one of them only.
  const runs = { one: [] as number[], two: [] as number[], errors: 0 };
  for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
    for (const workers of round % 2 === 0 ? [1, 2] : [2, 1]) {
      const result = await throughput(workers);
      runs[workers === 1 ? 'one' : 'two'].push(result.rps);
      runs.errors += result.errors;
    }
  }
  const one = { rps: median(runs.one), errors: runs.errors };
  const two = { rps: median(runs.two), errors: runs.errors };
  const hot = await hotPath();
  const perClient = (r: { clientRequests: number; upstreamRequests: number }) => r.upstreamRequests / r.clientRequests;
  table([
    {
      run: `outage ${OUTAGE_SECONDS}s, 3 replicas, per-process state`,
      client_requests: perProcess.clientRequests,
      upstream_requests: perProcess.upstreamRequests,
      upstream_per_client: round(perClient(perProcess), 3),
    },
    {
      run: `outage ${OUTAGE_SECONDS}s, 3 replicas, shared through Redis`,
      client_requests: sharedRun.clientRequests,
      upstream_requests: sharedRun.upstreamRequests,
      upstream_per_client: round(perClient(sharedRun), 3),
    },
  ]);
  table([
    { run: 'server.workers: 1', req_per_s: round(one.rps, 0), errors: one.errors },
    { run: 'server.workers: 2', req_per_s: round(two.rps, 0), errors: two.errors },
  ]);
  table([
    { what: 'breaker check, in-process state', us_per_call: round(hot.localNs / 1000, 3) },
    { what: 'breaker check, Redis store (local cache)', us_per_call: round(hot.redisNs / 1000, 3) },
    { what: 'rate-limit token from Redis (one round trip)', us_per_call: round(hot.tokenNs / 1000, 1) },
  ]);
  console.log(
    JSON.stringify({
      outage_seconds: OUTAGE_SECONDS,
      client_rate: CLIENT_RATE,
      upstream_per_client_per_process: round(perClient(perProcess), 3),
      upstream_per_client_shared: round(perClient(sharedRun), 3),
      outage_ratio_shared_vs_per_process: round(perClient(sharedRun) / perClient(perProcess), 3),
      workers_1_rps: round(one.rps, 0),
      workers_2_rps: round(two.rps, 0),
      workers_throughput_ratio: round(two.rps / one.rps, 2),
      throughput_valid: one.errors === 0 && two.errors === 0,
      breaker_check_local_us: round(hot.localNs / 1000, 3),
      breaker_check_redis_us: round(hot.redisNs / 1000, 3),
      breaker_check_added_us: round((hot.redisNs - hot.localNs) / 1000, 3),
      redis_token_us: round(hot.tokenNs / 1000, 1),
      redis_fallbacks_during_hot_path: hot.fallbacks,
    }),
  );
} finally {
  await Promise.all(children.map(stop));
  rmSync(dir, { recursive: true, force: true });
}
