import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'packages/gateway/src/cli/main.ts');

export interface GatewayProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM, and the exit code once it exited. */
  stop(): Promise<number | null>;
}

/**
 * `breakwater serve --config FILE` in its own process, as an operator runs it (one replica of
 * several). Resolves once it prints the address it listens on.
 */
export async function startGatewayProcess(file: string, config: string, timeoutMs = 30_000): Promise<GatewayProcess> {
  writeFileSync(file, config);
  const tsx = import.meta.resolve('tsx');
  const child = spawn(
    process.execPath,
    ['--conditions=breakwater-source', '--import', tsx, MAIN, 'serve', '--config', file],
    {
      cwd: ROOT,
      env: { ...process.env, OPENAI_API_KEY: '', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (out += chunk));
  const exited = new Promise<number | null>((done) => child.once('exit', done));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = /listening on (http:\/\/\S+)/.exec(out);
    if (match)
      return {
        url: match[1]!,
        pid: child.pid!,
        child,
        output: () => out,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      };
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the gateway did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
