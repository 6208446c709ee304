import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway } from '../../packages/gateway/src/server/gateway.js';
import { eventually } from '../support/wait-for.js';

// The request's cancellation is a breakwater Cancellation handed to undici as is (no AbortSignal is
// made per request): a client that leaves before the upstream answered must still cut the upstream
// call — the upstream sees its connection close — and the operation is recorded cancelled.
test(
  'a client that leaves before the upstream answers cancels the upstream call (JSON and stream)',
  { timeout: 20_000 },
  async () => {
    const held: Array<{ request: IncomingMessage; closed: Promise<void> }> = [];
    let arrived: () => void = () => {};
    const upstream = createServer((request: IncomingMessage, response: ServerResponse) => {
      // Never answers: only the gateway giving up ends the request.
      const closed = new Promise<void>((resolve) => response.on('close', resolve));
      held.push({ request, closed });
      arrived();
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const config = parseConfig({
      providers: { slow: { baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1` } },
      routes: { m: { targets: [{ provider: 'slow', model: 'x' }], attemptTimeoutMs: 60_000, totalTimeoutMs: 60_000 } },
      journal: { memory: true },
    });
    const gateway = await createGateway(config, { env: {}, logger: pino({ level: 'silent' }) });
    const base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      for (const stream of [false, true]) {
        const reached = new Promise<void>((resolve) => (arrived = resolve));
        const client = new AbortController();
        const response = fetch(`${base}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': `leaves-${stream}` },
          body: JSON.stringify({ model: 'm', stream, messages: [{ role: 'user', content: 'hi' }] }),
          signal: client.signal,
        }).catch((error: unknown) => error);
        await reached;
        client.abort();
        assert.equal(((await response) as Error).name, 'AbortError');
        await held.at(-1)!.closed;
        const rows = await eventually(
          () => gateway.journal.query({ limit: 10 }),
          (found) => found.some((row) => row.correlationId === `leaves-${stream}` && row.status !== 'running'),
          `the ${stream ? 'stream' : 'JSON'} request's row to end`,
        );
        assert.equal(rows.find((row) => row.correlationId === `leaves-${stream}`)?.status, 'cancelled');
      }
      assert.equal(held.length, 2, 'one upstream call per request: a cancelled call is not retried');
    } finally {
      await gateway.close();
      upstream.closeAllConnections();
      upstream.close();
    }
  },
);
