import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One scripted answer. Exactly what a real provider sends: status, headers, body bytes. */
export interface Scripted {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Server-sent events written after a 200; `cut` drops the connection after them. */
  sse?: Array<{ event?: string; data: unknown }>;
  cut?: boolean;
  /** Destroy the socket without answering. */
  reset?: boolean;
  /** Never answer (until the server closes). */
  hang?: boolean;
}

export interface ScriptedServer {
  url: string;
  port: number;
  /** Answers for the next requests, in order; the last one repeats. */
  script(...answers: Scripted[]): void;
  received: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>;
  close(): Promise<void>;
}

export async function startScriptedServer(): Promise<ScriptedServer> {
  let queue: Scripted[] = [{ status: 200, body: {} }];
  const received: ScriptedServer['received'] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const answer = queue.length > 1 ? queue.shift()! : queue[0]!;
      respond(answer, req, res);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    script: (...answers) => {
      queue = answers;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function respond(answer: Scripted, req: IncomingMessage, res: ServerResponse): void {
  if (answer.reset) {
    req.socket.destroy();
    return;
  }
  if (answer.hang) return;
  if (answer.sse) {
    res.writeHead(answer.status ?? 200, { 'content-type': 'text/event-stream', ...answer.headers });
    for (const event of answer.sse) {
      const data = typeof event.data === 'string' ? event.data : JSON.stringify(event.data);
      res.write(`${event.event ? `event: ${event.event}\n` : ''}data: ${data}\n\n`);
    }
    if (answer.cut) setTimeout(() => req.socket.destroy(), 20);
    else res.end();
    return;
  }
  const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
  res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
  res.end(text);
}
