import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './free-port.js';
import { portOpen } from './services.js';

/**
 * A private, throwaway redis-server for cases that would disturb the shared one (a replica,
 * a password, a busy script, maxmemory, an outage). Nothing is written to disk. `port` restarts one
 * on the port a killed one had.
 */
export async function startPrivateRedis(args: string[] = [], port?: number): Promise<{ port: number; stop(): void }> {
  port ??= await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp', ...args],
    { stdio: 'ignore' },
  );
  const failed = new Promise<never>((_, reject) => child.once('error', reject));
  for (let i = 0; i < 100; i++) {
    if (await Promise.race([portOpen('127.0.0.1', port, 200), failed]))
      return { port, stop: () => child.kill('SIGKILL') };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`private redis-server on ${port} did not start`);
}
