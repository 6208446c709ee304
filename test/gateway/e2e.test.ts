import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import pino from 'pino';
import { breakwaterPinoOptions } from 'breakwater/pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';
import { failure, resetSimulators } from '../support/openai-failure.js';

// The real openai SDK (its default retries on) → the gateway → two simulated providers.
const PROVIDER_KEY = 'sk-proj-gatewayE2Esecret0123456789';
let primary: Simulator;
let backup: Simulator;
let gateway: Gateway;
let client: OpenAI;
const logs: string[] = [];
const messages = [{ role: 'user' as const, content: 'hello' }];

before(async () => {
  primary = await startSimulator({ retryAfterMs: 20, tokenDelayMs: 1, slowMs: 1_000 });
  backup = await startSimulator({ retryAfterMs: 20, tokenDelayMs: 1 });
  const route = (targets: unknown[], extra: Record<string, unknown> = {}) => ({
    targets,
    retry: { maxAttempts: 3 },
    attemptTimeoutMs: 400,
    ...extra,
  });
  const config = parseConfig({
    // Breakers belong to the upstream: the routes below use one simulator under three provider
    // names, so that the breaker test on `solo` does not open the circuit the other routes use.
    providers: {
      primary: { baseUrl: primary.url, apiKeyEnv: 'E2E_PRIMARY_KEY' },
      alone: { baseUrl: primary.url, apiKeyEnv: 'E2E_PRIMARY_KEY', breaker: { failures: 6, breakMs: 60_000 } },
      streaming: { baseUrl: primary.url, apiKeyEnv: 'E2E_PRIMARY_KEY' },
      backup: { baseUrl: backup.url },
    },
    routes: {
      chat: route([
        { provider: 'primary', model: 'small', contextWindow: 8_000 },
        { provider: 'backup', model: 'large', contextWindow: 128_000 },
      ]),
      // Timeouts are retried here (by default a route moves on from a silent target at once).
      solo: route([{ provider: 'alone', model: 'small' }], { retry: { maxAttempts: 3, moveOnImmediately: [] } }),
      streamy: route([{ provider: 'streaming', model: 'small' }], {
        stream: { idleTimeoutMs: 300, totalTimeoutMs: 5_000 },
      }),
    },
    // Partial answers are kept (redacted) for the cut-stream test; the gateway's default keeps none.
    journal: { memory: true, content: 'redacted' },
    retryBudget: { ratio: 1, minPerSecond: 100 },
  });
  const sink = new Writable({ write: (chunk, _e, done) => (logs.push(chunk.toString()), done()) });
  gateway = await createGateway(config, {
    env: { E2E_PRIMARY_KEY: PROVIDER_KEY },
    logger: pino({ ...breakwaterPinoOptions(), level: 'debug' }, sink),
  });
  const address = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  client = new OpenAI({ baseURL: `${address}/v1`, apiKey: 'client-key-unused' });
});
after(async () => {
  await gateway.close();
  await primary.close();
  await backup.close();
});

const reset = () => resetSimulators(primary, backup);
const withHeaders = (model: string) => client.chat.completions.create({ model, messages }).withResponse();

describe('gateway end to end with the openai SDK', () => {
  test("a plain call: 200, the target and attempts in headers, our key upstream, not the client's", async () => {
    reset();
    const { data, response } = await withHeaders('chat');
    assert.match(data.choices[0]!.message.content ?? '', /Breakwater/);
    assert.equal(response.headers.get('x-breakwater-target'), 'primary:small');
    assert.equal(response.headers.get('x-breakwater-attempts'), '1');
    assert.match(response.headers.get('x-request-id') ?? '', /.+/);
    assert.deepEqual(primary.stats().authorizations, [`Bearer ${PROVIDER_KEY}`]);
    // The gateway's own time: total minus the upstream's, as a header and a histogram.
    assert.match(response.headers.get('x-breakwater-overhead-ms') ?? '', /^\d+\.\d\d$/);
    const metrics = await (await fetch(`${client.baseURL.replace(/\/v1$/, '')}/metrics`)).text();
    assert.match(metrics, /breakwater_gateway_overhead_seconds_count 1/);
  });

  test('retries before answering: 429, malformed JSON, empty choices, reset, hang — each retried, then 200', async () => {
    for (const fault of [
      'rate_limit',
      'malformed_json',
      'empty_choices',
      'reset',
      'hang',
      'unavailable',
      'server_error',
    ] as const) {
      reset();
      primary.script(fault);
      const { response } = await withHeaders('solo');
      assert.equal(response.headers.get('x-breakwater-attempts'), '2', fault);
      assert.equal(primary.stats().received, 2, fault);
    }
  });

  test('insufficient_quota is never retried (by the gateway or the SDK); on a route with a backup it falls back', async () => {
    reset();
    primary.script('quota');
    const error = await failure(client.chat.completions.create({ model: 'solo', messages }));
    assert.equal(error.status, 429);
    assert.equal((error.error as { code: string }).code, 'LLM_QUOTA_EXCEEDED');
    assert.equal(primary.stats().received, 1, 'one upstream request in all: x-should-retry: false stops the SDK too');
    reset();
    primary.script('quota');
    const { response } = await withHeaders('chat');
    assert.equal(response.headers.get('x-breakwater-target'), 'backup:large');
    assert.equal(response.headers.get('x-breakwater-fallback-from'), 'primary:small');
  });

  test("context_length falls back to the larger model; the caller's own 400 never falls back", async () => {
    reset();
    primary.script('context_length');
    const { response } = await withHeaders('chat');
    assert.equal(response.headers.get('x-breakwater-target'), 'backup:large');
    reset();
    primary.script('bad_request');
    const error = await failure(client.chat.completions.create({ model: 'chat', messages }));
    assert.equal(error.status, 400);
    assert.equal(backup.stats().received, 0);
    assert.equal(primary.stats().received, 1);
  });

  test('slow headers past the attempt timeout and a 529 are retried; our key rejected upstream falls back', async () => {
    for (const fault of ['slow_headers', 'overloaded'] as const) {
      reset();
      primary.script(fault);
      const { response } = await withHeaders('solo');
      assert.equal(response.headers.get('x-breakwater-attempts'), '2', fault);
    }
    reset();
    primary.script('unauthorized');
    const { response } = await withHeaders('chat');
    assert.equal(
      response.headers.get('x-breakwater-target'),
      'backup:large',
      "a 401 for our own key is not the caller's fault",
    );
  });

  test('a stream that stalls past the idle timeout ends with a timeout error event', async () => {
    reset();
    primary.script('stall_stream');
    const stream = await client.chat.completions.create({ model: 'streamy', messages, stream: true });
    const error = await failure(
      (async () => {
        for await (const _ of stream) void _;
      })(),
    );
    assert.equal((error.error as { code?: string } | undefined)?.code, 'OPERATION_TIMEOUT');
    const [row] = await gateway.journal.query({ kind: 'chat.completions', limit: 1 });
    assert.equal(row?.errorCategory, 'timeout');
  });

  test('a provider down: retries then the backup; with no backup, a 503 with Retry-After and no SDK retries', async () => {
    reset();
    primary.script('unavailable', 'unavailable', 'unavailable');
    const { response } = await withHeaders('chat');
    assert.equal(response.headers.get('x-breakwater-target'), 'backup:large');
    assert.equal(response.headers.get('x-breakwater-attempts'), '4');
    reset();
    primary.script('unavailable', 'unavailable', 'unavailable');
    const error = await failure(client.chat.completions.create({ model: 'solo', messages }));
    assert.equal(error.status, 503);
    assert.equal((error.error as { code: string }).code, 'LLM_OVERLOADED');
    assert.equal(error.headers?.get('retry-after'), '1');
    assert.equal(primary.stats().received, 3, 'three gateway attempts, zero SDK retries');
  });

  test('the breaker opens after repeated faults and then fails fast without calling the provider', async () => {
    reset();
    primary.script('server_error', 'server_error', 'server_error', 'server_error', 'server_error', 'server_error');
    await failure(client.chat.completions.create({ model: 'solo', messages }));
    await failure(client.chat.completions.create({ model: 'solo', messages }));
    const received = primary.stats().received;
    // Faults earlier in this suite already counted towards the six; the circuit is open by now.
    const error = await failure(client.chat.completions.create({ model: 'solo', messages }));
    assert.equal((error.error as { code: string }).code, 'CIRCUIT_OPEN');
    assert.equal(error.status, 503);
    assert.equal(primary.stats().received, received, 'the open circuit did not call the provider');
  });

  test('streaming: a failure before the first byte is retried; the client sees one clean stream', async () => {
    reset();
    primary.script('rate_limit');
    const stream = await client.chat.completions.create({ model: 'streamy', messages, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, 'Breakwater classifies every failure once and decides by category.');
    assert.equal(primary.stats().received, 2);
  });

  test('streaming: a stream cut after the first byte ends with an SSE error event, and the journal keeps the partial output', async () => {
    for (const fault of ['cut_stream', 'stream_error'] as const) {
      reset();
      primary.script(fault);
      const stream = await client.chat.completions.create({ model: 'streamy', messages, stream: true });
      let text = '';
      const error = await failure(
        (async () => {
          for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        })(),
      );
      assert.ok(text.length > 0 && text.length < 60, `${fault}: partial text ${JSON.stringify(text)}`);
      assert.match(String((error as { message?: string }).message), /./);
      assert.equal(primary.stats().received, 1, 'no retry after the first byte');
      const [row] = await gateway.journal.query({ kind: 'chat.completions', limit: 1 });
      assert.equal(row?.status, 'failed', fault);
      assert.equal((row?.result as { content: string }).content, text);
    }
  });

  test('a client that disconnects mid-stream cancels the upstream call and the operation is recorded cancelled', async () => {
    reset();
    primary.script('stall_stream');
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'chat', messages, stream: true },
      { signal: controller.signal },
    );
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const [row] = await gateway.journal.query({ kind: 'chat.completions', limit: 1 });
    assert.equal(row?.status, 'cancelled');
  });

  test('embeddings and models', async () => {
    const embedding = await client.embeddings.create({ model: 'chat', input: ['a', 'b'] });
    assert.equal(embedding.data.length, 2);
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id).sort(), ['chat', 'solo', 'streamy']);
    const missing = await failure(client.chat.completions.create({ model: 'gpt-5-nonexistent', messages }));
    assert.equal(missing.status, 404);
  });

  test('one journal row per request, attempts recorded, and the provider key nowhere in logs or rows', async () => {
    const rows = await gateway.journal.query({ limit: 1000 });
    assert.ok(rows.length >= 20);
    assert.ok(rows.some((r) => r.attempts === 4 && r.status === 'succeeded'));
    assert.ok(rows.some((r) => r.errorCode === 'LLM_QUOTA_EXCEEDED'));
    const text = JSON.stringify(rows) + logs.join('');
    assert.ok(!text.includes(PROVIDER_KEY));
    assert.ok(logs.some((l) => l.includes('"event":"retry"')));
  });
});
