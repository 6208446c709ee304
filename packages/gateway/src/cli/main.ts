#!/usr/bin/env node
// breakwater — the gateway's command line: serve, simulate, ops, config.
import cluster from 'node:cluster';
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { demoConfig } from '../config/demo.js';
import { ConfigError, configJsonSchema, loadConfig } from '../config/load.js';
import { createGateway, type Gateway } from '../server/gateway.js';
import { FAULTS, isFault, isPersona, PERSONAS, type Fault, type Persona } from '../simulator/faults.js';
import { startSimulator, type Simulator } from '../simulator/simulator.js';
import { ops } from './ops.js';
import { asUserError, intFlag, UserError } from './user-error.js';
import { DEMO_UPSTREAMS_ENV, servePrimary, workerCount, type ListeningMessage } from './workers.js';
import { missingServerFlags } from './node-flags.js';

const HELP = `breakwater — an OpenAI-compatible gateway that classifies, retries, breaks, falls back and journals

Usage:
  breakwater serve [--config FILE] [--port N] [--host ADDRESS] [--demo]
      Serve the gateway. Without --config it looks for breakwater.yaml; with no config and no
      OPENAI_API_KEY (or with --demo) it runs the demo: a built-in simulated upstream that fails
      in realistic ways. SIGHUP reloads the config file; SIGTERM and SIGINT drain, then exit.
      With server.workers > 1 (or auto) a primary runs that many worker processes on the port.

  breakwater config check FILE     validate a configuration and print its resolved routes
  breakwater config schema         print the configuration's JSON Schema (for editors)

  breakwater simulate [--port N] [--seed N] [--rate FAULT=P ...] [--persona NAME] [--reply TEXT]
      Run the simulated OpenAI-compatible upstream alone.
      --rate FAULT=P  probability of a fault per request, e.g. --rate rate_limit=0.2
                      faults: ${FAULTS.filter((f) => f !== 'ok').join(', ')}
      --persona NAME  answer faults in a provider's own words: ${Object.keys(PERSONAS).join(', ')}
      --reply TEXT    the assistant's answer (streamed a word per chunk)

  breakwater ops list [--journal FILE|URL] [--status S] [--kind K] [--since 30m] [--correlation ID] [--limit N]
  breakwater ops show ID [--journal FILE|URL] [--json]
      Read the operations journal: a SQLite file (default breakwater.db) or a postgres:// URL.
      ops show prints the attempt timeline (--json: the whole record).
      --correlation finds the operation behind an error response's correlation_id.

  breakwater --version | --help
`;

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      demo: { type: 'boolean' },
      seed: { type: 'string' },
      rate: { type: 'string', multiple: true },
      persona: { type: 'string' },
      reply: { type: 'string' },
      journal: { type: 'string' },
      status: { type: 'string' },
      kind: { type: 'string' },
      since: { type: 'string' },
      correlation: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.version) return console.log(VERSION);
  if (values.help || !command) return console.log(HELP);
  if (command === 'serve') return serve(values, rest);
  if (command === 'simulate') return simulate(values);
  if (command === 'ops') return ops(rest, values);
  if (command === 'config') return configCommand(rest);
  throw new UserError(`unknown command "${command}": expected serve, config, simulate or ops (see breakwater --help)`);
}

interface ServeFlags {
  config?: string;
  port?: string;
  /** The address to listen on (e.g. 0.0.0.0 in a container); default the config's server.host. */
  host?: string;
  demo?: boolean;
}

async function serve(flags: ServeFlags, rest: string[]): Promise<void> {
  if (rest.length > 0) throw new UserError(`serve: unexpected argument "${rest[0]}" (use --config FILE)`);
  const port = intFlag('port', flags.port ?? process.env['PORT'], 8080);
  const file = flags.demo
    ? undefined
    : (flags.config ?? (existsSync('breakwater.yaml') ? 'breakwater.yaml' : undefined));
  if (!file && !flags.demo && process.env['OPENAI_API_KEY'])
    throw new UserError(
      'OPENAI_API_KEY is set but there is no configuration: pass --config FILE (see breakwater.example.yaml), or --demo for the simulated upstream',
    );
  if (cluster.isWorker) return serveWorker(flags, file, port);
  const simulators: Simulator[] = [];
  let gateway: Gateway;
  let address: string;
  try {
    if (!file) {
      simulators.push(
        await startSimulator({
          seed: 7,
          faultRates: { rate_limit: 0.15, unavailable: 0.1, reset: 0.05, cut_stream: 0.05, quota: 0.02 },
        }),
        await startSimulator({ seed: 8 }),
      );
    }
    const config = serveConfig(
      flags,
      file,
      port,
      simulators.map((s) => s.url),
    );
    const workers = workerCount(config.server.workers);
    if (workers > 1) {
      ({ address } = await servePrimary({ config, workers, file, simulators }));
      console.log(
        `breakwater gateway listening on ${address} (${workers} workers; pid ${process.pid}: kill -HUP ${process.pid} reloads the config)`,
      );
      if (!file) printDemo(address);
      return;
    }
    gateway = await createGateway(config);
    try {
      address = await gateway.app.listen({ port: config.server.port, host: config.server.host });
    } catch (error) {
      await gateway.close();
      throw error;
    }
  } catch (error) {
    await Promise.all(simulators.map((s) => s.close()));
    throw error;
  }
  // Handlers first: a SIGHUP sent the moment the pid is printed must not meet the default action (exit).
  handleSignals(gateway, file, simulators);
  // Before the listening line: whoever waits for that line (a script, a test) has the tip already.
  tipServerFlags();
  console.log(
    `breakwater gateway listening on ${address} (pid ${process.pid}: kill -HUP ${process.pid} reloads the config)`,
  );
  if (!file) printDemo(address);
}

/**
 * A running process cannot change its V8 settings (workers get them from their primary), so a lone
 * `serve` started without them says which to pass. Not set from inside: the young generation's size
 * is fixed when the heap is made, and `v8.setFlagsFromString('--single-threaded-gc')` after start
 * aborts Node 20 at its next full collection (a failed V8 check in cppgc's marker, seen here).
 */
function tipServerFlags(): void {
  const missing = missingServerFlags(process.execArgv, process.env['NODE_OPTIONS']);
  if (missing.length > 0)
    console.log(
      `tip: start with NODE_OPTIONS="${missing.join(' ')}" for a lower tail latency on this machine (packages/gateway/README.md, "Several replicas")`,
    );
}

/** The config file (or the demo's, around its simulated upstreams) with the command line's overrides. */
function serveConfig(flags: ServeFlags, file: string | undefined, port: number, upstreams: string[]) {
  const config = file ? loadConfig(file) : demoConfig(upstreams[0]!, upstreams[1]!, port);
  if (flags.port !== undefined || process.env['PORT'] !== undefined) config.server.port = port;
  if (flags.host !== undefined) config.server.host = flags.host;
  return config;
}

/** One worker of `server.workers`: the same gateway, its port shared through the primary. */
async function serveWorker(flags: ServeFlags, file: string | undefined, port: number): Promise<void> {
  const upstreams = JSON.parse(process.env[DEMO_UPSTREAMS_ENV] ?? '[]') as string[];
  let gateway: Gateway | undefined;
  try {
    const config = serveConfig(flags, file, port, upstreams);
    gateway = await createGateway(config);
    const address = await gateway.app.listen({ port: config.server.port, host: config.server.host });
    handleSignals(gateway, file, []);
    process.send!({ bw: 'listening', address } satisfies ListeningMessage);
  } catch (error) {
    await gateway?.close();
    // The channel to the primary would keep this process alive: the primary sees it exit instead.
    process.disconnect();
    throw error;
  }
}

/** SIGHUP reloads; SIGTERM/SIGINT drain and exit 0. Started by npm, it also stops if npm goes away. */
function handleSignals(gateway: Gateway, file: string | undefined, simulators: Simulator[]): void {
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: draining requests in flight, then exiting`);
    await gateway.close();
    await Promise.all(simulators.map((s) => s.close()));
    process.exitCode = 0;
    // A worker's channel to its primary is the last thing holding it.
    if (cluster.isWorker) process.disconnect();
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => {
    if (!file) return console.log('SIGHUP: the demo has no config file to reload');
    try {
      const warnings = gateway.reload(loadConfig(file));
      console.log(`configuration reloaded from ${file}${warnings.length ? ` (${warnings.join('; ')})` : ''}`);
    } catch (error) {
      console.error(`configuration NOT reloaded: ${(error as Error).message}`);
    }
  });
  // npm forwards SIGINT and SIGTERM to the gateway but dies on SIGHUP: never outlive it as an orphan.
  if (process.env['npm_lifecycle_event'] !== undefined) {
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid !== parent) void stop('parent exited');
    }, 1_000);
    watch.unref();
  }
}

async function configCommand(args: string[]): Promise<void> {
  const [sub, file, ...extra] = args;
  if (sub === 'schema' && !file) return console.log(JSON.stringify(configJsonSchema(), null, 2));
  if (sub !== 'check' || !file || extra.length > 0)
    throw new UserError('expected "breakwater config check FILE" or "breakwater config schema"');
  const config = loadConfig(file);
  console.log(`${file}: valid`);
  for (const [alias, route] of Object.entries(config.routes)) {
    const targets = route.targets.map((t) => `${t.provider}:${t.model}`).join(' → ');
    console.log(
      `  ${alias}: ${targets} (attempts ${route.retry.maxAttempts} per target, attempt ${route.attemptTimeoutMs} ms, total ${route.totalTimeoutMs} ms)`,
    );
  }
  const missing = Object.entries(config.providers).filter(([, p]) => p.apiKeyEnv && !process.env[p.apiKeyEnv]);
  for (const [name, p] of missing)
    console.log(`  note: providers.${name}: ${p.apiKeyEnv} is not set here${p.apiKeyOptional ? ' (optional)' : ''}`);
}

async function simulate(flags: {
  port?: string;
  seed?: string;
  rate?: string[];
  persona?: string;
  reply?: string;
}): Promise<void> {
  if (flags.persona !== undefined && !isPersona(flags.persona))
    throw new UserError(
      `--persona ${JSON.stringify(flags.persona)}: expected one of ${Object.keys(PERSONAS).join(', ')}`,
    );
  if (flags.reply !== undefined && flags.reply.trim() === '')
    throw new UserError("--reply: expected the answer's text");
  const rates: Partial<Record<Fault, number>> = {};
  for (const entry of flags.rate ?? []) {
    const [name, value] = entry.split('=');
    if (!isFault(name) || !(Number(value) >= 0 && Number(value) <= 1))
      throw new UserError(`--rate ${entry}: expected FAULT=P with P between 0 and 1; faults: ${FAULTS.join(', ')}`);
    rates[name] = Number(value);
  }
  const simulator = await startSimulator({
    port: intFlag('port', flags.port, 9000),
    seed: intFlag('seed', flags.seed, 42, 0, Number.MAX_SAFE_INTEGER),
    faultRates: rates,
    ...(flags.persona ? { persona: flags.persona as Persona } : {}),
    ...(flags.reply !== undefined ? { replyText: flags.reply } : {}),
  });
  console.log(`simulated upstream on ${simulator.url} (stats: ${simulator.url.replace(/\/v1$/, '')}/_simulator/stats)`);
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

try {
  await main();
} catch (error) {
  if (error instanceof ConfigError) {
    // One issue: one line. Several: a line each, under the file's name.
    console.error(
      error.issues.length === 1 ? `breakwater: ${error.file}: ${error.issues[0]}` : `breakwater: ${error.message}`,
    );
    process.exitCode = 2;
  } else {
    const userError = asUserError(error);
    if (!userError) throw error;
    console.error(`breakwater: ${userError.message}`);
    process.exitCode = 2;
  }
}
