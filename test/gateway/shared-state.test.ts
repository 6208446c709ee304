import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator } from '../../packages/gateway/src/simulator/simulator.js';
import { freePort } from '../support/free-port.js';
import { needService, REDIS_URL } from '../support/services.js';

test('a gateway whose Redis is unreachable from the start serves every request, warns, and keeps its password secret', async () => {
  const simulator = await startSimulator();
  const deadPort = await freePort();
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const gateway = await createGateway(
    parseConfig({
      providers: { sim: { baseUrl: simulator.url } },
      routes: { chat: { targets: [{ provider: 'sim', model: 'm' }], rateLimit: { perSecond: 1000 } } },
      journal: { memory: true },
      state: { redis: { urlEnv: 'REDIS_URL', timeoutMs: 5 } },
    }),
    { env: { REDIS_URL: `redis://:a-redis-password-to-hide@127.0.0.1:${deadPort}` }, logger },
  );
  const base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  try {
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(response.status, 200, await response.text());
    }
    const ready = (await (await fetch(`${base}/health/ready`)).json()) as {
      status: string;
      checks: Record<string, Array<{ status: string; output: string }>>;
    };
    assert.equal(ready.checks['shared-state']![0]!.status, 'warn');
    assert.match(ready.checks['shared-state']![0]!.output, /deciding locally \(\d+ local decisions\)/);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^breakwater_gateway_shared_state_up 0$/m);
    assert.match(metrics, /^breakwater_gateway_shared_state_fallbacks_total [1-9]\d*$/m);
    const everything = [JSON.stringify(ready), metrics, ...lines].join('\n');
    assert.ok(!everything.includes('a-redis-password-to-hide'), 'the Redis password left the process');
  } finally {
    await gateway.close();
    await simulator.close();
  }
});

test('a state.redis.urlEnv that is not set refuses to start, naming the variable', async () => {
  const config = parseConfig({
    providers: { sim: { baseUrl: 'http://127.0.0.1:1/v1' } },
    routes: { chat: { targets: [{ provider: 'sim', model: 'm' }] } },
    journal: { memory: true },
    state: { redis: { urlEnv: 'BW_TEST_REDIS_URL' } },
  });
  await assert.rejects(
    createGateway(config, { env: {}, logger: pino({ level: 'silent' }) }),
    (error: { name: string; issues: string[] }) =>
      error.name === 'ConfigError' &&
      error.issues.some((issue) =>
        /^state\.redis\.urlEnv: BW_TEST_REDIS_URL is not set in the environment/.test(issue),
      ),
  );
});

const redisSkip = await needService('redis');

test(
  'a gateway with a live Redis waits for its first connection: the first request is decided through Redis, not locally',
  { skip: redisSkip },
  async () => {
    const simulator = await startSimulator();
    const gateway = await createGateway(
      parseConfig({
        providers: { sim: { baseUrl: simulator.url } },
        routes: { chat: { targets: [{ provider: 'sim', model: 'm' }], rateLimit: { perSecond: 1000 } } },
        journal: { memory: true },
        // A generous bound: only a connection not yet up could make this decision local.
        state: { redis: { url: REDIS_URL, prefix: `bwfirst-${process.pid}-${Date.now()}`, timeoutMs: 2_000 } },
      }),
      { env: {}, logger: pino({ level: 'silent' }) },
    );
    const base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const response = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(response.status, 200, await response.text());
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /^breakwater_gateway_shared_state_up 1$/m);
      assert.match(metrics, /^breakwater_gateway_shared_state_fallbacks_total 0$/m);
    } finally {
      await gateway.close();
      await simulator.close();
    }
  },
);
