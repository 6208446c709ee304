import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator } from '../../packages/gateway/src/simulator/simulator.js';

test('a route limit holds for every request to the route, also those served by its tools-capable targets only', async () => {
  const simulator = await startSimulator();
  const gateway = await createGateway(
    parseConfig({
      providers: { sim: { baseUrl: simulator.url } },
      routes: {
        chat: {
          // A request with tools goes to the route's variant over the second target only.
          targets: [
            { provider: 'sim', model: 'plain', capabilities: { tools: false } },
            { provider: 'sim', model: 'tools' },
          ],
          rateLimit: { perSecond: 0.01, burst: 2 },
        },
      },
      journal: { memory: true },
    }),
    { env: {}, logger: pino({ level: 'silent' }) },
  );
  const base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }];
  const ask = async (withTools: boolean) => {
    const response = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'chat',
        messages: [{ role: 'user', content: 'hi' }],
        ...(withTools ? { tools } : {}),
      }),
    });
    await response.arrayBuffer();
    return { status: response.status, retryAfter: response.headers.get('retry-after') };
  };
  try {
    assert.equal((await ask(false)).status, 200);
    assert.equal((await ask(true)).status, 200);
    const refused = [await ask(true), await ask(false)];
    assert.deepEqual(
      refused.map((r) => r.status),
      [429, 429],
      'the burst of 2 is spent, with tools or without',
    );
    assert.ok(Number(refused[0]!.retryAfter) > 0);
  } finally {
    await gateway.close();
    await simulator.close();
  }
});
