import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';

// Hostile input at the public endpoints: clear 4xx in OpenAI's error shape, no crash, and every
// journaled operation ends in a terminal state. Bounded: a fixed number of requests.
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
let simulator: Simulator;
let gateway: Gateway;
let base: string;

before(async () => {
  simulator = await startSimulator({
    seed: 3,
    faultRates: { rate_limit: 0.1, reset: 0.05, cut_stream: 0.1, malformed_json: 0.05 },
    retryAfterMs: 5,
    tokenDelayMs: 0,
  });
  const config = parseConfig({
    // The same simulator behind each protocol: hostile input must survive every translation too.
    providers: {
      sim: { baseUrl: simulator.url },
      claude: { kind: 'anthropic', baseUrl: simulator.url },
      gemini: { kind: 'gemini', baseUrl: simulator.url.replace(/\/v1$/, '/v1beta') },
      bedrock: { kind: 'bedrock', baseUrl: simulator.url.replace(/\/v1$/, '') },
    },
    routes: {
      m: { targets: [{ provider: 'sim', model: 'x' }], attemptTimeoutMs: 1_000 },
      a: { targets: [{ provider: 'claude', model: 'x' }], attemptTimeoutMs: 1_000 },
      g: { targets: [{ provider: 'gemini', model: 'x' }], attemptTimeoutMs: 1_000 },
      b: { targets: [{ provider: 'bedrock', model: 'x' }], attemptTimeoutMs: 1_000 },
    },
    journal: { memory: true },
    retryBudget: { ratio: 1, minPerSecond: 1000 },
  });
  gateway = await createGateway(config, {
    env: { AWS_ACCESS_KEY_ID: 'AKIAFUZZ', AWS_SECRET_ACCESS_KEY: 'fuzz-secret' },
    logger: pino({ level: 'silent' }),
  });
  base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await gateway.close();
  await simulator.close();
});

const message = fc.record(
  {
    role: fc.oneof(fc.constantFrom('user', 'system', 'assistant', 'tool'), fc.string()),
    content: fc.oneof(fc.string(), fc.anything()),
    tool_calls: fc.anything(),
    tool_call_id: fc.anything(),
  },
  { requiredKeys: [] },
);
const chatBody = fc.oneof(
  fc
    .record(
      {
        model: fc.oneof(fc.constantFrom('m', 'a', 'g', 'b'), fc.string()),
        tools: fc.anything(),
        max_tokens: fc.anything(),
        messages: fc.oneof(fc.array(message, { maxLength: 3 }), fc.anything()),
        stream: fc.oneof(fc.boolean(), fc.anything()),
      },
      { requiredKeys: [] },
    )
    .map((b) => JSON.stringify(b)),
  fc.json(),
  fc.string(),
  fc.constantFrom(
    '{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true}',
    '{"model":"m","messages":[{"role":"user","content":"x"}]}',
    '{"model":"a","messages":[{"role":"user","content":"x"}],"stream":true}',
    '{"model":"g","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}]}',
    '{',
    '[]',
    'null',
  ),
  fc.integer({ min: 1, max: 10_000 }).map((d) => `{"model":"m","messages":${'['.repeat(d)}${']'.repeat(d)}}`),
);
const path = fc.constantFrom('/v1/chat/completions', '/v1/embeddings', '/v1/models', '/v1/nope', '/admin/operations');
const contentType = fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', '');

test('every answer is a success or an OpenAI-shaped error; the gateway survives; nothing is left running', async () => {
  await fc.assert(
    fc.asyncProperty(
      path,
      chatBody,
      contentType,
      fc.string({ maxLength: 200 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
      async (p, body, type, requestId) => {
        const res = await fetch(`${base}${p}`, {
          method: p === '/v1/models' ? 'GET' : 'POST',
          headers: { ...(type ? { 'content-type': type } : {}), 'x-request-id': requestId },
          ...(p === '/v1/models' ? {} : { body }),
        });
        const text = await res.text();
        assert.ok(res.status < 600);
        if (res.status >= 400) {
          const parsed = JSON.parse(text) as { error?: { message?: unknown; type?: unknown; code?: unknown } };
          assert.equal(typeof parsed.error?.message, 'string', text);
          assert.equal(typeof parsed.error?.type, 'string', text);
          assert.match(String(parsed.error?.code), /^[A-Z][A-Z0-9_]+$/, text);
          if (res.status >= 500) assert.ok(!/Error:| at |node_modules/.test(text), text);
          assert.notEqual(parsed.error?.code, 'INTERNAL_ERROR', `a bug, not an answer: ${text}`);
        }
      },
    ),
    { numRuns: RUNS },
  );
  assert.equal((await fetch(`${base}/v1/models`)).status, 200, 'still serving');
  await new Promise((resolve) => setTimeout(resolve, 100));
  const open = [
    ...(await gateway.journal.query({ status: 'running', limit: 1000 })),
    ...(await gateway.journal.query({ status: 'pending', limit: 1000 })),
  ];
  assert.deepEqual(open, [], 'every journaled operation ended');
});
