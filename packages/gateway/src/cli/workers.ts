import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { serveClusterState } from 'breakwater/cluster';
import { relayConsoleSessions } from '../console/session-relay.js';
import type { GatewayConfig } from '../config/schema.js';
import type { Simulator } from '../simulator/simulator.js';
import { workerExecArgv } from './node-flags.js';
import { UserError } from './user-error.js';

/** Environment a worker reads: the demo's simulated upstreams live in the primary. */
export const DEMO_UPSTREAMS_ENV = 'BREAKWATER_DEMO_UPSTREAMS';

/** Message a worker sends its primary once it listens. */
export interface ListeningMessage {
  bw: 'listening';
  address: string;
}

export function workerCount(setting: GatewayConfig['server']['workers']): number {
  return setting === 'auto' ? availableParallelism() : setting;
}

/** Crashes tolerated in a minute before the primary gives up (a worker that cannot start). */
const MAX_CRASHES_PER_MINUTE = 5;

/**
 * The primary of `server.workers > 1`: forks the workers (they share the port through
 * node:cluster), holds their shared state unless Redis does, replaces a worker that dies, and passes
 * SIGHUP (reload) and SIGTERM/SIGINT (drain, then exit) on to every worker.
 */
export async function servePrimary(options: {
  config: GatewayConfig;
  workers: number;
  file: string | undefined;
  simulators: Simulator[];
}): Promise<{ address: string }> {
  const { config, workers } = options;
  // Without Redis the primary is where the workers' breakers, limits and budget meet.
  const stopState = config.state.redis ? () => {} : serveClusterState(cluster);
  // A console login made on one worker is known to all: the next connection may go to another.
  const stopSessions = relayConsoleSessions(cluster);
  const env = { [DEMO_UPSTREAMS_ENV]: JSON.stringify(options.simulators.map((s) => s.url)) };
  let stopping = false;
  const crashes: number[] = [];

  // Workers serve the requests: they run with the server's V8 settings (cli/node-flags.ts).
  cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, process.env['NODE_OPTIONS']) });
  const fork = (): Worker => {
    const worker = cluster.fork(env);
    worker.on('error', () => {}); // an IPC write to a worker that is exiting
    return worker;
  };
  const started = await startAll(workers, fork);

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const now = Date.now();
    crashes.push(now);
    while (crashes[0]! < now - 60_000) crashes.shift();
    if (crashes.length > MAX_CRASHES_PER_MINUTE) {
      console.error(`breakwater: ${crashes.length} workers died within a minute; stopping`);
      void stop('crash loop', 1);
      return;
    }
    console.error(`worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another in its place`);
    fork();
  });

  const each = (signal: NodeJS.Signals): void => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  const stop = async (why: string, exitCode = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`${why}: draining every worker, then exiting`);
    const exited = Object.values(cluster.workers ?? {}).map(
      (worker) => new Promise((resolve) => worker!.once('exit', resolve)),
    );
    each('SIGTERM');
    await Promise.all(exited);
    stopState();
    stopSessions();
    await Promise.all(options.simulators.map((s) => s.close()));
    process.exitCode = exitCode;
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => {
    if (!options.file) return console.log('SIGHUP: the demo has no config file to reload');
    console.log(`SIGHUP: every worker reloads ${options.file}`);
    each('SIGHUP');
  });
  return started;
}

/** Forks `count` workers and resolves with the address once every one listens. */
function startAll(count: number, fork: () => Worker): Promise<{ address: string }> {
  return new Promise((resolve, reject) => {
    let listening = 0;
    const failed = (worker: Worker, code: number | null): void => {
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGKILL');
      reject(new UserError(`a worker (pid ${worker.process.pid}) exited with code ${code} before listening`));
    };
    for (let i = 0; i < count; i++) {
      const worker = fork();
      worker.once('exit', (code) => failed(worker, code));
      worker.on('message', (message: Partial<ListeningMessage>) => {
        if (message?.bw !== 'listening') return;
        worker.removeAllListeners('exit');
        if (++listening === count) resolve({ address: message.address! });
      });
    }
  });
}
