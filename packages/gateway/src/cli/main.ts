// breakwater — the gateway's command line: serve, simulate, ops.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { Journal } from 'breakwater';
import { SqliteJournalStore } from 'breakwater/journal-sqlite';
import { demoConfig } from '../config/demo.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { createGateway } from '../server/gateway.js';
import { FAULTS, isFault, type Fault } from '../simulator/faults.js';
import { startSimulator } from '../simulator/simulator.js';

const HELP = `breakwater — an OpenAI-compatible gateway that classifies, retries, breaks, falls back and journals

Usage:
  breakwater serve [--config FILE] [--port N]
      Serve the gateway. Without --config it looks for breakwater.yaml; with no config and no
      OPENAI_API_KEY it runs the demo: a built-in simulated upstream that fails in realistic ways.
      --config FILE   YAML or JSON configuration (providers, routes, clients, journal)
      --port N        listen port (overrides the config; default 8080, or PORT)

  breakwater simulate [--port N] [--seed N] [--rate FAULT=P ...]
      Run the simulated OpenAI-compatible upstream alone.
      --rate FAULT=P  probability of a fault per request, e.g. --rate rate_limit=0.2
                      faults: ${FAULTS.filter((f) => f !== 'ok').join(', ')}
      --seed N        random seed (same seed, same faults)

  breakwater ops list [--journal FILE] [--status S] [--limit N]
  breakwater ops show ID [--journal FILE]
      Read the operations journal (SQLite file; default breakwater.db).
`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: 'string' },
    port: { type: 'string' },
    seed: { type: 'string' },
    rate: { type: 'string', multiple: true },
    journal: { type: 'string' },
    status: { type: 'string' },
    limit: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
const [command, ...rest] = positionals;

try {
  if (values.help || !command) console.log(HELP);
  else if (command === 'serve') await serve();
  else if (command === 'simulate') await simulate();
  else if (command === 'ops') await ops(rest);
  else {
    console.error(`Unknown command "${command}".\n\n${HELP}`);
    process.exitCode = 2;
  }
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exitCode = 2;
  } else throw error;
}

async function serve(): Promise<void> {
  const file = values.config ?? (existsSync('breakwater.yaml') ? 'breakwater.yaml' : undefined);
  const port = Number(values.port ?? process.env['PORT'] ?? 8080);
  if (!file && process.env['OPENAI_API_KEY']) {
    console.error(
      'OPENAI_API_KEY is set but there is no configuration: pass --config (see packages/gateway/README.md).',
    );
    process.exitCode = 2;
    return;
  }
  const demo = !file;
  const flaky = demo
    ? await startSimulator({
        seed: 7,
        faultRates: { rate_limit: 0.15, unavailable: 0.1, reset: 0.05, cut_stream: 0.05, quota: 0.02 },
      })
    : undefined;
  const backup = demo ? await startSimulator({ seed: 8 }) : undefined;
  const config = demo ? demoConfig(flaky!.url, backup!.url, port) : loadConfig(file!);
  if (values.port) config.server.port = port;
  const gateway = await createGateway(config);
  const address = await gateway.app.listen({ port: config.server.port, host: config.server.host });
  console.log(`breakwater gateway listening on ${address}`);
  const stop = async (): Promise<void> => {
    await gateway.close();
    await flaky?.close();
    await backup?.close();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  if (file) {
    // SIGHUP re-reads the file and swaps routes without dropping requests; a bad file keeps the old config.
    process.on('SIGHUP', () => {
      try {
        const warnings = gateway.reload(loadConfig(file));
        console.log(`configuration reloaded from ${file}${warnings.length ? ` (${warnings.join('; ')})` : ''}`);
      } catch (error) {
        console.error(`configuration NOT reloaded: ${(error as Error).message}`);
      }
    });
  }
  if (demo) printDemo(address);
}

function printDemo(address: string): void {
  console.log(`
Demo mode. No config and no provider key: requests go to a built-in simulated upstream that rate-limits,
answers 503, resets connections and cuts streams now and then, with a healthy backup behind it.
Watch the x-breakwater-target and x-breakwater-attempts headers.

  curl -si ${address}/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"demo-model","messages":[{"role":"user","content":"hello"}]}'

  curl -sN ${address}/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"demo-model","stream":true,"messages":[{"role":"user","content":"hello"}]}'

  import OpenAI from 'openai';
  const client = new OpenAI({ baseURL: '${address}/v1', apiKey: 'unused-in-demo' });
  console.log((await client.chat.completions.create({ model: 'demo-model', messages: [{ role: 'user', content: 'hi' }] })).choices[0].message);

Health: ${address}/health/ready   Metrics: ${address}/metrics   Journal: breakwater-demo.db (breakwater ops list --journal breakwater-demo.db)`);
}

async function simulate(): Promise<void> {
  const rates: Partial<Record<Fault, number>> = {};
  for (const entry of values.rate ?? []) {
    const [name, value] = entry.split('=');
    if (!isFault(name) || !(Number(value) >= 0 && Number(value) <= 1)) {
      console.error(`--rate ${entry}: expected FAULT=P with P between 0 and 1; faults: ${FAULTS.join(', ')}`);
      process.exitCode = 2;
      return;
    }
    rates[name] = Number(value);
  }
  const simulator = await startSimulator({
    port: Number(values.port ?? 9000),
    seed: Number(values.seed ?? 42),
    faultRates: rates,
  });
  console.log(`simulated upstream on ${simulator.url} (stats: ${simulator.url.replace(/\/v1$/, '')}/_simulator/stats)`);
}

async function ops(args: string[]): Promise<void> {
  const file = values.journal ?? 'breakwater.db';
  if (!existsSync(file)) {
    console.error(`No journal at ${file} (pass --journal FILE).`);
    process.exitCode = 2;
    return;
  }
  const journal = new Journal({ store: new SqliteJournalStore(new BetterSqlite3(file, { readonly: false })) });
  try {
    if (args[0] === 'show' && args[1]) {
      const operation = await journal.get(args[1]);
      if (!operation) {
        console.error(`No operation ${args[1]}.`);
        process.exitCode = 1;
      } else console.log(JSON.stringify(operation, null, 2));
      return;
    }
    const status = values.status as 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | undefined;
    const rows = await journal.query({ ...(status ? { status } : {}), limit: Number(values.limit ?? 20) });
    for (const o of rows) {
      console.log(
        `${o.id}  ${o.status.padEnd(9)}  ${o.kind.padEnd(18)}  attempts=${o.attempts}  ${o.errorCode ?? ''}  ${new Date(o.createdAt).toISOString()}`,
      );
    }
  } finally {
    await journal.close();
  }
}
