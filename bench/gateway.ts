// npm run bench:gateway — autocannon on loopback against the simulated upstream directly, through
// breakwater, and through the Portkey gateway (pinned in bench/portkey, installed by this script),
// streaming and not. Prints latency added (p50/p99) and throughput; the last line is one JSON object.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { parseConfig } from '../packages/gateway/src/config/load.js';
import { createGateway } from '../packages/gateway/src/server/gateway.js';
import { startSimulator } from '../packages/gateway/src/simulator/simulator.js';
import { round, table } from './harness.js';
import { freePort } from '../test/support/free-port.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const portkeyDir = fileURLToPath(new URL('./portkey/', import.meta.url));

const simulator = await startSimulator({ tokenDelayMs: 0 });
const dir = mkdtempSync(join(tmpdir(), 'bw-bench-gw-'));
const config = parseConfig({
  providers: { sim: { baseUrl: simulator.url } },
  routes: { 'bench-model': { targets: [{ provider: 'sim', model: 'sim-model' }] } },
  // BENCH_JOURNAL=memory measures the gateway without the durable journal's fsyncs.
  journal: process.env.BENCH_JOURNAL === 'memory' ? { memory: true } : { sqlite: join(dir, 'journal.db') },
});
const gateway = await createGateway(config, { env: {}, logger: (await import('pino')).default({ level: 'silent' }) });
const breakwaterUrl = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
const portkey = await startPortkey();

const body = (stream: boolean) =>
  JSON.stringify({ model: 'bench-model', stream, messages: [{ role: 'user', content: 'hello' }] });
const targets = [
  { name: 'direct', url: `${simulator.url}/chat/completions`, headers: {} },
  { name: 'breakwater', url: `${breakwaterUrl}/v1/chat/completions`, headers: {} },
  ...(portkey
    ? [
        {
          name: 'portkey',
          url: `${portkey.url}/v1/chat/completions`,
          headers: {
            'x-portkey-provider': 'openai',
            'x-portkey-custom-host': simulator.url,
            authorization: 'Bearer sk-fake',
          },
        },
      ]
    : []),
];

const results: Record<string, Record<string, number>> = {};
for (const stream of [false, true]) {
  for (const target of targets) {
    const run = await autocannon({
      url: target.url,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...target.headers },
      body: body(stream),
      connections: CONNECTIONS,
      duration: SECONDS,
    });
    const errors = run.errors + run.non2xx;
    results[`${target.name}${stream ? '_stream' : ''}`] = {
      p50: run.latency.p50,
      p99: run.latency.p99,
      rps: run.requests.average,
      errors,
    };
  }
}
await gateway.close();
await simulator.close();
portkey?.child.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });

const rows = Object.entries(results).map(([name, r]) => ({
  target: name,
  p50_ms: r.p50!,
  p99_ms: r.p99!,
  req_per_s: round(r.rps!, 0),
  errors: r.errors!,
}));
table(rows);
const added = (name: string, suffix = '') => ({
  p50: round(results[`${name}${suffix}`]!['p50']! - results[`direct${suffix}`]!['p50']!, 2),
  p99: round(results[`${name}${suffix}`]!['p99']! - results[`direct${suffix}`]!['p99']!, 2),
});
const summary = {
  breakwater_added_p50_ms: added('breakwater').p50,
  breakwater_added_p99_ms: added('breakwater').p99,
  breakwater_rps: round(results['breakwater']!['rps']!, 0),
  breakwater_stream_added_p50_ms: added('breakwater', '_stream').p50,
  breakwater_stream_added_p99_ms: added('breakwater', '_stream').p99,
  breakwater_stream_rps: round(results['breakwater_stream']!['rps']!, 0),
  ...(portkey
    ? {
        portkey_added_p50_ms: added('portkey').p50,
        portkey_added_p99_ms: added('portkey').p99,
        portkey_rps: round(results['portkey']!['rps']!, 0),
        portkey_stream_added_p50_ms: added('portkey', '_stream').p50,
        portkey_stream_rps: round(results['portkey_stream']!['rps']!, 0),
        throughput_ratio_vs_portkey: round(results['breakwater']!['rps']! / results['portkey']!['rps']!, 2),
      }
    : { portkey: 'unavailable' }),
  direct_rps: round(results['direct']!['rps']!, 0),
  connections: CONNECTIONS,
  seconds: SECONDS,
  journal: process.env.BENCH_JOURNAL === 'memory' ? 'memory' : 'sqlite (synchronous=FULL, group commit)',
};
console.log(JSON.stringify(summary));

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
  const child = spawn(
    process.execPath,
    [join(portkeyDir, 'node_modules/@portkey-ai/gateway/build/start-server.js'), '--headless', `--port=${port}`],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return { url: `http://127.0.0.1:${port}`, child };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  return undefined;
}
