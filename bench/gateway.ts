// npm run bench:gateway — the gateway as it runs in production, measured honestly: the simulated
// upstream, the breakwater gateway (built, `breakwater serve`) and the Portkey gateway (pinned in
// bench/portkey) each in its own process, the load generator in this one. Every contender gets the
// same work: a warm-up, then fixed-rate runs (BENCH_RATES, default 500, 1000 and 2000 req/s;
// BENCH_ROUNDS interleaved rounds, default 3, medians reported), open-loop and evenly spaced
// (bench/paced-load.ts), giving the CPU time of the proxy's process per request (utime+stime from
// /proc), added p50/p99 against the upstream directly, and errors (a run with errors is not a
// result); then a saturation run for throughput (autocannon, closed loop), streaming runs for CPU
// per streamed chunk (a short answer, and a 100-word one: the difference per extra chunk is the
// relay's own cost), and rounds at 500 req/s with a 32-message (~32 KB) prompt. Two reference
// rows run at the fixed rates too: the same gateway on the memory journal (what the durable
// journal costs) and bench/bare-proxy.ts, fastify + undici and nothing else (the floor of this
// stack on this machine; it streams too, piping the upstream's body through unread); and at the
// fixed rates the same proxy on Node's own http server, no framework (what fastify costs). The last
// line is one JSON object.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { round, table } from './harness.js';
import { pacedLoad } from './paced-load.js';
import { cpuMicros, waitForHttp } from './processes.js';
import { freePort } from '../test/support/free-port.js';
import { serverV8Flags } from '../packages/gateway/src/cli/node-flags.js';
import { DEFAULT_REPLY } from '../packages/gateway/src/simulator/simulator.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
// 1,000 req/s is where issue 15's targets are stated: the summary line reports that rate.
const RATES = (process.env.BENCH_RATES ?? '500,1000,2000').split(',').map(Number);
const CONNECTIONS = 16;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const portkeyDir = join(ROOT, 'bench/portkey');
const CLI = join(ROOT, 'packages/gateway/dist/cli/main.js');
// Every server runs with the V8 settings the gateway's own processes get (packages/gateway/src/cli/
// node-flags.ts says why): the same setup for every contender. BENCH_NODE_FLAGS overrides ("" for
// Node's defaults).
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? serverV8Flags().join(' ')).split(' ').filter(Boolean);
function start(args: string[], cwd = ROOT): ChildProcess {
  return spawn(process.execPath, [...NODE_FLAGS, ...args], {
    cwd,
    stdio: 'ignore',
    env: { ...process.env, OPENAI_API_KEY: '' },
  });
}

spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
const dir = mkdtempSync(join(tmpdir(), 'bw-bench-gw-'));
const simPort = await freePort();
const simulator = start([CLI, 'simulate', '--port', String(simPort)]);
const simulatorUrl = `http://127.0.0.1:${simPort}/v1`;
await waitForHttp(`${simulatorUrl}/models`);
// A second upstream whose answer is LONG_WORDS words (a chunk each), for streams: the CPU a stream
// of it costs beyond a stream of the short answer, per extra chunk, is what relaying one chunk
// costs — without the fixed cost of each request (routing, journal, policies) that CPU per chunk
// of a short answer also carries.
const LONG_WORDS = 100;
const SHORT_WORDS = DEFAULT_REPLY.split(/(?<= )/).length;
const longPort = await freePort();
const longSimulator = start([
  CLI,
  'simulate',
  '--port',
  String(longPort),
  '--reply',
  Array.from({ length: LONG_WORDS }, (_, i) => `word${i}`).join(' '),
]);
const longUrl = `http://127.0.0.1:${longPort}/v1`;
await waitForHttp(`${longUrl}/models`);

const gwPort = await freePort();
// BENCH_JOURNAL=memory measures the gateway without the durable journal.
const gateway = startGateway(
  gwPort,
  process.env.BENCH_JOURNAL === 'memory'
    ? 'journal: { memory: true }'
    : `journal: { sqlite: "${join(dir, 'journal.db')}", synchronous: ${process.env.BENCH_SYNCHRONOUS ?? 'FULL'} }`,
);
const gatewayUrl = `http://127.0.0.1:${gwPort}`;
await waitForHttp(`${gatewayUrl}/health/live`);
// The same gateway with the memory journal: the difference is what the durable journal costs.
const memoryGateway = process.env.BENCH_JOURNAL === 'memory' ? undefined : await startMemoryGateway();
// The floor: fastify + undici and nothing else (bench/bare-proxy.ts).
const barePort = await freePort();
const bareProxy = start(['--import', 'tsx', join(ROOT, 'bench/bare-proxy.ts'), String(barePort), simulatorUrl]);
await waitForHttp(`http://127.0.0.1:${barePort}/`);
// The bare proxy in front of the long answer (it knows one upstream).
const bareLongPort = await freePort();
const bareLongProxy = start(['--import', 'tsx', join(ROOT, 'bench/bare-proxy.ts'), String(bareLongPort), longUrl]);
await waitForHttp(`http://127.0.0.1:${bareLongPort}/`);
// The floor without a framework: the same proxy on node:http (fixed rates and the long prompt only).
const nodeHttpPort = await freePort();
const nodeHttpProxy = start([
  '--import',
  'tsx',
  join(ROOT, 'bench/bare-proxy.ts'),
  String(nodeHttpPort),
  simulatorUrl,
  'node-http',
]);
await waitForHttp(`http://127.0.0.1:${nodeHttpPort}/`);
const portkey = await startPortkey();

// The fixed rates send a one-word prompt; one run sends a conversation of 32 messages (~32 KB), as
// real chat traffic does: what a server does per KB of prompt (parse, check, send on) shows there.
const LONG_MESSAGES = Array.from({ length: 32 }, (_, i) => ({
  role: i % 2 ? 'assistant' : 'user',
  content: `message ${i}: ${'lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(17)}`,
}));
const body = (stream: boolean, long = false, model = 'bench-model') =>
  JSON.stringify({
    model,
    stream,
    messages: long ? LONG_MESSAGES : [{ role: 'user', content: 'hello' }],
  });
interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  pid: number | undefined;
  /** The same contender in front of the long answer: its URL, headers and model when they differ. */
  long?: { url?: string; headers?: Record<string, string>; model?: string; pid?: number };
}
const targets: Target[] = [
  { name: 'direct', url: `${simulatorUrl}/chat/completions`, headers: {}, pid: simulator.pid },
  {
    name: 'breakwater',
    url: `${gatewayUrl}/v1/chat/completions`,
    headers: {},
    pid: gateway.pid,
    long: { model: 'bench-model-long' },
  },
  ...(memoryGateway
    ? [
        {
          name: 'breakwater-memory',
          url: `${memoryGateway.url}/v1/chat/completions`,
          headers: {},
          pid: memoryGateway.child.pid,
        },
      ]
    : []),
  {
    name: 'bare-proxy',
    url: `http://127.0.0.1:${barePort}/v1/chat/completions`,
    headers: {},
    pid: bareProxy.pid,
    long: { url: `http://127.0.0.1:${bareLongPort}/v1/chat/completions`, pid: bareLongProxy.pid },
  },
  {
    name: 'node-http-proxy',
    url: `http://127.0.0.1:${nodeHttpPort}/v1/chat/completions`,
    headers: {},
    pid: nodeHttpProxy.pid,
  },
  ...(portkey
    ? [
        {
          name: 'portkey',
          url: `${portkey.url}/v1/chat/completions`,
          headers: {
            'x-portkey-provider': 'openai',
            'x-portkey-custom-host': simulatorUrl,
            authorization: 'Bearer sk-fake',
          },
          pid: portkey.child.pid,
          long: {
            headers: {
              'x-portkey-provider': 'openai',
              'x-portkey-custom-host': longUrl,
              authorization: 'Bearer sk-fake',
            },
          },
        },
      ]
    : []),
];

async function load(
  target: Target,
  options: { rate?: number; stream?: boolean; seconds?: number; longPrompt?: boolean; longAnswer?: boolean },
) {
  await quiet();
  const long = options.longAnswer ? target.long : undefined;
  const pid = long?.pid ?? target.pid;
  const before = pid ? cpuMicros(pid) : 0;
  const work = {
    url: long?.url ?? target.url,
    headers: { 'content-type': 'application/json', ...(long?.headers ?? target.headers) },
    body: body(options.stream ?? false, options.longPrompt, long?.model),
  };
  const seconds = options.seconds ?? SECONDS;
  // A fixed rate is open-loop and evenly spaced (bench/paced-load.ts says why not autocannon's
  // overallRate); saturation is autocannon's closed loop on CONNECTIONS connections.
  const run = options.rate ? await pacedLoad({ ...work, rate: options.rate, seconds }) : await saturate(work, seconds);
  const cpu = pid ? cpuMicros(pid) - before : 0;
  return { ...run, cpuPerRequest: run.requests > 0 ? cpu / run.requests : NaN };
}

/**
 * Waits (at most 5 s) until every server is idle, so no run shares the two cores with what the run
 * before it left behind: a saturated contender still draining its backlog or collecting garbage.
 */
async function quiet(): Promise<void> {
  const pids = [...targets.flatMap((t) => [t.pid, t.long?.pid]), longSimulator.pid].filter(
    (pid): pid is number => pid !== undefined,
  );
  const busy = () => pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const before = busy();
    await new Promise((resolve) => setTimeout(resolve, 250));
    // One clock tick (10 ms) in 250 ms: idle, as finely as /proc can tell.
    if (busy() - before <= 10_000) return;
  }
}

async function saturate(work: { url: string; headers: Record<string, string>; body: string }, seconds: number) {
  const run = await autocannon({ ...work, method: 'POST', connections: CONNECTIONS, duration: seconds });
  return {
    requests: run.requests.total,
    errors: run.errors + run.non2xx + run.timeouts,
    p50: run.latency.p50,
    p99: run.latency.p99,
    rps: run.requests.average,
  };
}

/** The median run of each measure (a run with errors still counts its errors). */
function medianOf(runs: Array<Awaited<ReturnType<typeof load>>>): Awaited<ReturnType<typeof load>> {
  const median = (pick: (r: (typeof runs)[number]) => number) => {
    const sorted = runs.map(pick).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  return {
    requests: median((r) => r.requests),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    p50: median((r) => r.p50),
    p99: median((r) => r.p99),
    rps: median((r) => r.rps),
    cpuPerRequest: median((r) => r.cpuPerRequest),
  };
}

const rows: Array<Record<string, string | number>> = [];
const results: Record<string, Awaited<ReturnType<typeof load>>> = {};
/** A result without errors, or undefined (a run with errors is not a result). */
const valid = (key: string) => (results[key]?.errors === 0 ? results[key] : undefined);
// Warm-up: JIT, pools, and the journal's WAL past its first growth (appending to the file costs more
// per fsync than the reuse that follows a checkpoint). Shorter, the first round of every contender ran
// a third slower than the next two.
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
for (const target of targets) await load(target, { rate: 1000, seconds: WARMUP_SECONDS });
/**
 * `ROUNDS` interleaved rounds of `options` on every one of `among` — so a drift of this shared
 * machine's speed touches them all — reported as the median of each one's rounds (errors summed),
 * under `results[name@key]` and a row named `name @ label`.
 */
async function inRounds(among: Target[], options: Parameters<typeof load>[1], key: string, label: string) {
  const rounds = new Map<string, Array<Awaited<ReturnType<typeof load>>>>();
  for (let round = 0; round < ROUNDS; round++)
    for (const target of among)
      rounds.set(target.name, [...(rounds.get(target.name) ?? []), await load(target, options)]);
  for (const target of among) {
    const r = medianOf(rounds.get(target.name)!);
    results[`${target.name}@${key}`] = r;
    rows.push({
      run: `${target.name} @ ${label}`,
      cpu_us_per_req: round(r.cpuPerRequest, 0),
      p50_ms: round(r.p50, 2),
      p99_ms: round(r.p99, 2),
      errors: r.errors,
      valid: r.errors === 0 ? 'yes' : 'NO (errors)',
    });
  }
}
for (const rate of RATES) await inRounds(targets, { rate }, String(rate), `${rate}/s`);
// Throughput: the contenders only (the reference rows answer the CPU question). Streaming: the
// contenders and the bare proxy, the floor of a relay.
const REFERENCES = ['breakwater-memory', 'bare-proxy', 'node-http-proxy'];
const contenders = targets.filter((t) => !REFERENCES.includes(t.name));
for (const target of contenders) {
  const r = await load(target, {});
  results[`${target.name}@max`] = r;
  rows.push({
    run: `${target.name} saturation`,
    req_per_s: round(r.rps, 0),
    errors: r.errors,
    valid: r.errors === 0 ? 'yes' : 'NO (errors)',
  });
}
const CHUNKS = 12; // the simulator's reply: a role chunk, 10 words, a finish chunk (+ usage)
// The servers with a long-answer twin: a stream row compares the two. The bare proxy's row is the
// floor of a relay: it pipes the stream through without reading it.
for (const target of targets.filter((t) => t.long !== undefined)) {
  const r = await load(target, { rate: 200, stream: true });
  results[`${target.name}@stream`] = r;
  rows.push({
    run: `${target.name} streaming @ 200/s`,
    cpu_us_per_chunk: round(r.cpuPerRequest / CHUNKS, 1),
    p50_ms: round(r.p50, 2),
    errors: r.errors,
  });
  const long = await load(target, { rate: 200, stream: true, longAnswer: true });
  results[`${target.name}@stream-long`] = long;
  rows.push({
    run: `${target.name} streaming @ 200/s, ${LONG_WORDS} words`,
    cpu_us_per_chunk: round(extraChunkCost(target.name) ?? NaN, 1),
    p50_ms: round(long.p50, 2),
    errors: long.errors,
  });
}
/** CPU µs per chunk beyond the short answer's: a stream of the long answer against one of the short. */
function extraChunkCost(name: string): number | undefined {
  const short = valid(`${name}@stream`);
  const long = valid(`${name}@stream-long`);
  if (!short || !long) return undefined;
  return (long.cpuPerRequest - short.cpuPerRequest) / (LONG_WORDS - SHORT_WORDS);
}
const LONG_RATE = 500;
const longTargets = targets.filter((t) => t.name !== 'breakwater-memory');
await inRounds(longTargets, { rate: LONG_RATE, longPrompt: true }, 'long', `${LONG_RATE}/s, 32 KB prompt`);
table(rows);

const at = RATES.includes(1000) ? 1000 : RATES[0]!;
/** What `name` adds to the upstream's own latency at `rate` (ms), at the median or the 99th percentile. */
const added = (name: string, rate: number | string, q: 'p50' | 'p99') =>
  round((results[`${name}@${rate}`]?.[q] ?? NaN) - (results[`direct@${rate}`]?.[q] ?? NaN), 2);
const summary = {
  rate: at,
  breakwater_cpu_us_per_req: round(valid(`breakwater@${at}`)?.cpuPerRequest ?? NaN, 0),
  portkey_cpu_us_per_req: round(valid(`portkey@${at}`)?.cpuPerRequest ?? NaN, 0),
  simulator_cpu_us_per_req: round(valid(`direct@${at}`)?.cpuPerRequest ?? NaN, 0),
  breakwater_memory_journal_cpu_us_per_req: round(valid(`breakwater-memory@${at}`)?.cpuPerRequest ?? NaN, 0),
  bare_proxy_cpu_us_per_req: round(valid(`bare-proxy@${at}`)?.cpuPerRequest ?? NaN, 0),
  node_http_proxy_cpu_us_per_req: round(valid(`node-http-proxy@${at}`)?.cpuPerRequest ?? NaN, 0),
  breakwater_vs_bare_proxy: round(
    (valid(`breakwater@${at}`)?.cpuPerRequest ?? NaN) / (valid(`bare-proxy@${at}`)?.cpuPerRequest ?? NaN),
    2,
  ),
  breakwater_added_p50_ms: added('breakwater', at, 'p50'),
  breakwater_added_p99_ms: added('breakwater', at, 'p99'),
  // The floor's own tail in the same run: what the p99 above compares with on this machine.
  bare_proxy_added_p99_ms: added('bare-proxy', at, 'p99'),
  breakwater_max_rps: round(results['breakwater@max']!.rps, 0),
  portkey_max_rps: portkey ? round(results['portkey@max']!.rps, 0) : null,
  throughput_ratio_vs_portkey: portkey ? round(results['breakwater@max']!.rps / results['portkey@max']!.rps, 2) : null,
  breakwater_stream_cpu_us_per_chunk: round((results['breakwater@stream']?.cpuPerRequest ?? NaN) / CHUNKS, 1),
  bare_proxy_stream_cpu_us_per_chunk: round((results['bare-proxy@stream']?.cpuPerRequest ?? NaN) / CHUNKS, 1),
  portkey_stream_cpu_us_per_chunk: portkey
    ? round((results['portkey@stream']?.cpuPerRequest ?? NaN) / CHUNKS, 1)
    : null,
  // What one more chunk costs (long answer against short, same rate): the relay itself.
  breakwater_stream_cpu_us_per_extra_chunk: round(extraChunkCost('breakwater') ?? NaN, 1),
  bare_proxy_stream_cpu_us_per_extra_chunk: round(extraChunkCost('bare-proxy') ?? NaN, 1),
  portkey_stream_cpu_us_per_extra_chunk: portkey ? round(extraChunkCost('portkey') ?? NaN, 1) : null,
  // The 32-message (~32 KB) prompt at 500 req/s: CPU µs per request by contender.
  cpu_us_per_req_32kb_prompt: Object.fromEntries(
    longTargets.map((t) => [t.name, round(valid(`${t.name}@long`)?.cpuPerRequest ?? NaN, 0)]),
  ),
  // Every fixed rate, for the rows the summary does not name: CPU µs per request by contender.
  cpu_us_per_req_by_rate: Object.fromEntries(
    RATES.map((rate) => [
      rate,
      Object.fromEntries(targets.map((t) => [t.name, round(valid(`${t.name}@${rate}`)?.cpuPerRequest ?? NaN, 0)])),
    ]),
  ),
  // Every fixed rate: the p99 each server adds to the upstream's own (ms).
  added_p99_ms_by_rate: Object.fromEntries(
    RATES.map((rate) => [
      rate,
      Object.fromEntries(
        targets.filter((t) => t.name !== 'direct').map((t) => [t.name, added(t.name, String(rate), 'p99')]),
      ),
    ]),
  ),
  errors: Object.fromEntries(
    Object.entries(results)
      .map(([k, r]) => [k, r.errors])
      .filter(([, e]) => e !== 0),
  ),
  journal:
    process.env.BENCH_JOURNAL === 'memory'
      ? 'memory'
      : `sqlite (synchronous=${process.env.BENCH_SYNCHRONOUS ?? 'FULL'}, group commit)`,
  node_flags: NODE_FLAGS.join(' '),
  seconds: SECONDS,
  rounds: ROUNDS,
};
for (const child of [
  gateway,
  memoryGateway?.child,
  bareProxy,
  bareLongProxy,
  nodeHttpProxy,
  simulator,
  longSimulator,
  portkey?.child,
])
  child?.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(summary));

/** `breakwater serve` on `port` with the bench's one route and the given journal line. */
function startGateway(port: number, journal: string): ChildProcess {
  const configFile = join(dir, `breakwater-${port}.yaml`);
  writeFileSync(
    configFile,
    [
      `server: { port: ${port}, maxInFlight: 4096, maxQueue: 4096 }`,
      'providers:',
      `  sim: { baseUrl: "${simulatorUrl}", concurrency: { max: 4096, queue: 4096 } }`,
      `  simlong: { baseUrl: "${longUrl}", concurrency: { max: 4096, queue: 4096 } }`,
      'routes:',
      '  bench-model: { targets: [{ provider: sim, model: sim-model }] }',
      '  bench-model-long: { targets: [{ provider: simlong, model: sim-model }] }',
      journal,
    ].join('\n'),
  );
  return spawn(process.execPath, [...NODE_FLAGS, CLI, 'serve', '--config', configFile], {
    cwd: dir,
    stdio: 'ignore',
    env: { ...process.env, OPENAI_API_KEY: '', LOG_LEVEL: 'error' },
  });
}

async function startMemoryGateway(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = startGateway(port, 'journal: { memory: true }');
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health/live`);
  return { url, child };
}

/** Installs (once) and starts the pinned Portkey gateway on a loopback port. */
async function startPortkey(): Promise<{ url: string; child: ChildProcess } | undefined> {
  if (!existsSync(join(portkeyDir, 'node_modules/@portkey-ai/gateway'))) {
    const install = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], {
      cwd: portkeyDir,
      stdio: 'inherit',
    });
    if (install.status !== 0) return undefined;
  }
  const port = await freePort();
  const child = start([
    join(portkeyDir, 'node_modules/@portkey-ai/gateway/build/start-server.js'),
    '--headless',
    `--port=${port}`,
  ]);
  try {
    await waitForHttp(`http://127.0.0.1:${port}/`);
    return { url: `http://127.0.0.1:${port}`, child };
  } catch {
    child.kill('SIGKILL');
    return undefined;
  }
}
