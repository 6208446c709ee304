import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { portOpen } from './services.js';

/**
 * A private, throwaway redis-server for cases that would disturb the shared one (a replica,
 * a password, a busy script, maxmemory, an outage). Each runs in a directory of its own, removed
 * when it stops: a replica writes the RDB it synced from its master there, and a server started in
 * a shared directory would load another's data (a cluster node even claims the slots of the keys it
 * finds). `port` restarts one on the port a killed one had.
 */
export async function startPrivateRedis(args: string[] = [], port?: number): Promise<{ port: number; stop(): void }> {
  port ??= await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bw-redis-'));
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args],
    { stdio: 'ignore' },
  );
  const stop = (): void => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const failed = new Promise<never>((_, reject) => child.once('error', reject));
  for (let i = 0; i < 100; i++) {
    if (await Promise.race([portOpen('127.0.0.1', port, 200), failed])) return { port, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  stop();
  throw new Error(`private redis-server on ${port} did not start`);
}
