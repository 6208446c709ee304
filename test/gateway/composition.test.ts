import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import pino from 'pino';
import { breakwaterPinoOptions } from 'breakwater/pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';
import { failure, resetSimulators } from '../support/openai-failure.js';

// The gateway's routes are library pipelines: regressions for each defect of the hand-written
// route runner, driven with the real openai SDK (its own retries on).
const PROVIDER_KEY = 'sk-proj-compositionSECRET0123456789';
const ADMIN_KEY = 'admin-key-composition';
let a: Simulator;
let b: Simulator;
let gateway: Gateway;
let base: string;
let client: OpenAI;
const logs: string[] = [];
const messages = [{ role: 'user' as const, content: 'hello' }];

const config = (extraRoutes: Record<string, unknown> = {}) =>
  parseConfig({
    providers: {
      a: { baseUrl: a.url, apiKeyEnv: 'COMPOSITION_KEY', breaker: { failures: 2, breakMs: 60_000 } },
      b: { baseUrl: b.url },
      c: { baseUrl: a.url, apiKeyEnv: 'COMPOSITION_KEY', breaker: { failures: 100 } },
    },
    routes: {
      one: { targets: [{ provider: 'a', model: 'm' }], retry: { maxAttempts: 3 }, attemptTimeoutMs: 1_000 },
      two: {
        targets: [
          { provider: 'a', model: 'm' },
          { provider: 'b', model: 'm' },
        ],
        attemptTimeoutMs: 1_000,
      },
      counted: { targets: [{ provider: 'c', model: 'm' }], retry: { maxAttempts: 3 }, attemptTimeoutMs: 1_000 },
      ...extraRoutes,
    },
    admin: { keySha256: createHash('sha256').update(ADMIN_KEY).digest('hex') },
    journal: { memory: true },
    retryBudget: { ratio: 1, minPerSecond: 100 },
  });

before(async () => {
  a = await startSimulator({ retryAfterMs: 10, tokenDelayMs: 1 });
  b = await startSimulator({ retryAfterMs: 10, tokenDelayMs: 1 });
  const sink = new Writable({ write: (chunk, _e, done) => (logs.push(chunk.toString()), done()) });
  gateway = await createGateway(config(), {
    env: { COMPOSITION_KEY: PROVIDER_KEY },
    logger: pino({ ...breakwaterPinoOptions(), level: 'debug' }, sink),
  });
  base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused' });
});
after(async () => {
  await gateway.close();
  await a.close();
  await b.close();
});

const reset = () => resetSimulators(a, b);
const metrics = async () => (await fetch(`${base}/metrics`)).text();
const admin = async (path: string) =>
  (await (await fetch(`${base}${path}`, { headers: { 'x-admin-key': ADMIN_KEY } })).json()) as {
    data: Array<Record<string, unknown>>;
  };

describe('one breaker per upstream, shared by every route', () => {
  test('a second route does not send traffic to an upstream the first found dead', async () => {
    reset();
    a.script('server_error', 'server_error', 'server_error');
    const dead = await failure(client.chat.completions.create({ model: 'one', messages }));
    assert.equal(dead.status, 503, 'the breaker opened on the second failure: the third attempt failed fast');
    assert.equal(a.stats().received, 2);
    const { data, response } = await client.chat.completions.create({ model: 'two', messages }).withResponse();
    assert.match(data.choices[0]!.message.content ?? '', /Breakwater/);
    assert.equal(a.stats().received, 2, 'route two skipped the open upstream without calling it');
    assert.equal(response.headers.get('x-breakwater-target'), 'b:m');
    assert.equal(response.headers.get('x-breakwater-fallback-from'), 'a:m');
    assert.equal(response.headers.get('x-breakwater-attempts'), '1', 'calls that reached an upstream');
  });

  test('/admin/breakers lists each upstream once; each transition and rejection is counted once', async () => {
    const breakers = await admin('/admin/breakers');
    assert.deepEqual(breakers.data.map((s) => [s['key'], s['state']]).sort(), [
      ['a:m', 'open'],
      ['b:m', 'closed'],
      ['c:m', 'closed'],
    ]);
    const text = await metrics();
    assert.match(text, /breakwater_breaker_state\{key="a:m"\} 2/);
    // Two rejections so far: the third attempt on route one, and route two's branch a.
    assert.match(text, /breakwater_rejections_total\{key="a:m",policy="circuit_breaker"\} 2/);
    const opened = logs.filter((line) => line.includes('"event":"breaker_state"') && line.includes('"key":"a:m"'));
    assert.equal(opened.length, 1, 'one log line for one transition');
  });

  test('the fallback is counted in breakwater_fallbacks_total', async () => {
    assert.match(await metrics(), /breakwater_fallbacks_total\{key="a:m",reason="circuit_open"\} 1/);
  });

  test('a config reload keeps the open breaker (in /admin/breakers, /health/ready and the routes)', async () => {
    gateway.reload(config({ extra: { targets: [{ provider: 'b', model: 'm' }] } }));
    const breakers = await admin('/admin/breakers');
    assert.equal(breakers.data.find((s) => s['key'] === 'a:m')?.['state'], 'open');
    const ready = (await (await fetch(`${base}/health/ready`)).json()) as {
      checks: Record<string, Array<{ breaker?: string }>>;
    };
    assert.equal(ready.checks['upstream:a:m:responsiveness']?.[0]?.breaker, 'open');
    reset();
    const { response } = await client.chat.completions.create({ model: 'two', messages }).withResponse();
    assert.equal(response.headers.get('x-breakwater-target'), 'b:m');
    assert.equal(a.stats().received, 0);
  });
});

describe('attempts and fallbacks as they happened', () => {
  test('journal attempts equal the upstream hits; no fallback-from on a single-target route', async () => {
    reset();
    a.script('malformed_json', 'malformed_json', 'malformed_json');
    const error = await failure(client.chat.completions.create({ model: 'counted', messages }));
    assert.equal(error.status, 502);
    assert.equal(a.stats().received, 3);
    assert.equal(error.headers?.get('x-breakwater-attempts'), '3');
    assert.equal(error.headers?.get('x-breakwater-fallback-from'), null, 'nothing fell back');
    const [row] = await gateway.journal.query({ status: 'failed', limit: 1 });
    assert.equal(row?.attempts, 3);
    assert.equal(row?.errorCode, 'LLM_INVALID_RESPONSE');
    reset();
    a.script('server_error');
    const { response } = await client.chat.completions.create({ model: 'counted', messages }).withResponse();
    assert.equal(response.headers.get('x-breakwater-attempts'), '2');
    assert.equal(response.headers.get('x-breakwater-fallback-from'), null);
  });

  test('a route whose open target is skipped records only the calls that were made', async () => {
    reset();
    b.script('server_error', 'server_error', 'server_error');
    const error = await failure(client.chat.completions.create({ model: 'two', messages }));
    assert.equal(error.status, 502);
    const [row] = await gateway.journal.query({ status: 'failed', limit: 1 });
    assert.equal(b.stats().received, 3);
    assert.equal(row?.attempts, 3, 'the skipped open target counts no attempt');
    assert.equal(a.stats().received, 0);
  });
});

describe('errors a caller can act on', () => {
  test("the upstream's message and param reach the caller for its own bad request, redacted", async () => {
    reset();
    a.script('bad_request');
    const error = await failure(client.chat.completions.create({ model: 'counted', messages, temperature: 5 }));
    assert.equal(error.status, 400);
    assert.match(
      error.message,
      /Invalid 'temperature': decimal above maximum value\. Expected a value <= 2, but got 5/,
    );
    assert.equal(error.param, 'temperature');
    assert.equal(error.type, 'invalid_request_error');
    assert.ok(!JSON.stringify(error.error).includes(PROVIDER_KEY));
    assert.equal(a.stats().received, 1, 'not retried, by the gateway or the SDK');
  });

  test("the upstream refusing the gateway's own key is an api_error that says so, not the caller's auth", async () => {
    reset();
    a.script('unauthorized');
    const error = await failure(client.chat.completions.create({ model: 'counted', messages }));
    assert.equal(error.status, 502);
    assert.equal(error.type, 'api_error');
    assert.match(error.message, /refused the gateway's own credentials/);
    assert.ok(!error.message.includes('Incorrect API key'), 'the upstream text about keys is not passed on');
  });

  test('a stream the upstream cut says so', async () => {
    reset();
    a.script('cut_stream');
    const stream = await client.chat.completions.create({ model: 'counted', messages, stream: true });
    const error = await failure(
      (async () => {
        for await (const _ of stream) void _;
      })(),
    );
    assert.match(String(error.message), /The upstream ended the stream before the answer was complete/);
    const [row] = await gateway.journal.query({ kind: 'chat.completions', status: 'failed', limit: 1 });
    assert.equal(row?.errorCode, 'LLM_CONNECTION_FAILED');
  });
});
