import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { freePort } from './free-port.js';

/**
 * A loopback port whose listener never calls accept() and whose backlog is full, so a new
 * connection's SYN is dropped and the client's connect timeout fires — the loopback stand-in for
 * an unreachable host. Node always accepts, so a tiny python3 process holds the socket.
 */
export async function startUnacceptingListener(): Promise<{ port: number; close(): void }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'python3',
    [
      '-c',
      `import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",${port}))\ns.listen(0)\nprint("ready",flush=True)\ntime.sleep(60)`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('error', reject);
  });
  // Fill the accept queue: with backlog 0 Linux still queues one; queue a few to be sure.
  const fillers: Socket[] = [];
  for (let i = 0; i < 3; i++) fillers.push(connect({ host: '127.0.0.1', port }).on('error', () => {}));
  await new Promise((r) => setTimeout(r, 100));
  return {
    port,
    close: () => {
      fillers.forEach((s) => s.destroy());
      child.kill('SIGKILL');
    },
  };
}
