import type { ServerResponse } from 'node:http';

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A 200 whose body never ends (JSON that never closes, or token after token): the client must cut
 * it. Writes with backpressure until the client goes away; bounded at 1 GiB so a client without a
 * cap does not run forever.
 */
export async function endless(res: ServerResponse, piece: string | Buffer = 'x'.repeat(16_384)): Promise<void> {
  if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/json' }).write('{"id":"');
  for (let sent = 0; sent < 1 << 30 && !res.destroyed; sent += piece.length) {
    if (!res.write(piece)) await drainOrClose(res);
  }
  res.destroy();
}

function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}

/** The words of the answer, each with its trailing space; only the rest when the prefill is its start. */
export function replyWords(reply: string, prefill: string): string[] {
  const trimmed = prefill.trimEnd();
  return (trimmed !== '' && reply.startsWith(trimmed) ? reply.slice(trimmed.length) : reply).split(/(?<= )/);
}

/** Arguments for a simulated tool call: every property of the tool's JSON schema given a plain value. */
export function argumentsFor(schema: unknown): Record<string, unknown> {
  const properties = (schema as { properties?: Record<string, { type?: string }> } | undefined)?.properties ?? {};
  const value = (type: string | undefined): unknown =>
    type === 'number' || type === 'integer' ? 1 : type === 'boolean' ? true : type === 'array' ? [] : 'sim';
  return Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, value(property?.type)]));
}

/** What a simulated answer needs to know, whatever the protocol. */
export interface AnswerContext {
  res: ServerResponse;
  body: Record<string, unknown>;
  model: string;
  /** Unique per request. */
  id: string;
  reply: string;
  retryAfterMs: number;
  tokenDelayMs: number;
  slowMs: number;
  chunksBeforeFault: number;
}
