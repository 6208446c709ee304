import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import pino from 'pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';
import { eventually } from '../support/wait-for.js';

// Provider faults driven with the real openai SDK (streaming and not): the gateway never waits on a
// silent target twice, leaves a slow first token for the fallback, finishes or resumes streams, and
// brings a recovered upstream back without waiting for a client to pay for the probe.
const REPLY = 'Breakwater classifies every failure once and decides by category.';
let primary: Simulator;
let backup: Simulator;
let flapping: Simulator;
let gateway: Gateway;
let client: OpenAI;
let base: string;
const messages = [{ role: 'user' as const, content: 'hello' }];

before(async () => {
  primary = await startSimulator({ tokenDelayMs: 1, slowMs: 3_000 });
  backup = await startSimulator({ tokenDelayMs: 1 });
  flapping = await startSimulator({ tokenDelayMs: 1 });
  const stream = { firstTokenTimeoutMs: 300, idleTimeoutMs: 300, totalTimeoutMs: 10_000, resume: 'continue' };
  gateway = await createGateway(
    parseConfig({
      providers: {
        p: { baseUrl: primary.url },
        b: { baseUrl: backup.url },
        plain: { baseUrl: backup.url },
        f: {
          baseUrl: flapping.url,
          breaker: { failures: 2, breakMs: 100, maxBreakMs: 400, probe: { intervalMs: 100 } },
        },
      },
      routes: {
        r: {
          targets: [
            { provider: 'p', model: 'm' },
            { provider: 'b', model: 'm', capabilities: { prefill: true } },
          ],
          attemptTimeoutMs: 300,
          stream,
        },
        'r-no-prefill': {
          targets: [
            { provider: 'p', model: 'm' },
            { provider: 'plain', model: 'm' },
          ],
          attemptTimeoutMs: 300,
          stream,
        },
        hedged: {
          targets: [
            { provider: 'p', model: 'm' },
            { provider: 'plain', model: 'm' },
          ],
          // Long enough that only the hedge, not a timeout, can bring the backup in.
          attemptTimeoutMs: 10_000,
          hedgeAfterMs: 200,
          stream: { ...stream, firstTokenTimeoutMs: 10_000 },
        },
        recovering: {
          targets: [
            { provider: 'f', model: 'm' },
            { provider: 'b', model: 'm' },
          ],
          retry: { maxAttempts: 1 },
          attemptTimeoutMs: 300,
        },
      },
      journal: { memory: true },
    }),
    { env: {}, logger: pino({ level: 'silent' }) },
  );
  base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused' });
});
after(async () => {
  await gateway.close();
  for (const simulator of [primary, backup, flapping]) await simulator.close();
});

const reset = () => {
  for (const simulator of [primary, backup, flapping]) {
    simulator.resetStats();
    simulator.clearScript();
  }
};
async function streamText(model: string, extra: Record<string, unknown> = {}) {
  const { data: stream, response } = await client.chat.completions
    .create({ model, messages, stream: true, ...extra })
    .withResponse();
  let text = '';
  let error: unknown;
  try {
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  } catch (thrown) {
    error = thrown;
  }
  return { text, error: error as { message?: string } | undefined, response };
}
/** The latest operation once finished (a stream's success is written right after its last byte). */
const lastRow = async () =>
  (
    await eventually(
      () => gateway.journal.query({ kind: 'chat.completions', limit: 1 }),
      (rows) => rows[0] !== undefined && rows[0].status !== 'running',
      'the operation finished',
    )
  )[0]!;

describe('never wait on a silent target twice', () => {
  test('no response: exactly one attempt on the silent target, the answer from the fallback', async () => {
    reset();
    primary.script('hang');
    const { data, response } = await client.chat.completions.create({ model: 'r', messages }).withResponse();
    assert.equal(data.choices[0]!.message.content, REPLY);
    assert.equal(primary.stats().received, 1);
    assert.equal(response.headers.get('x-breakwater-target'), 'b:m');
    assert.equal(response.headers.get('x-breakwater-attempts'), '2');
  });

  test('slow first token: the fallback answers after firstTokenTimeoutMs and the slow attempt is dropped', async () => {
    reset();
    primary.script('slow_first_token');
    const { text, error, response } = await streamText('r');
    assert.equal(error, undefined);
    assert.equal(text, REPLY);
    assert.equal(response.headers.get('x-breakwater-target'), 'b:m');
    assert.equal(primary.stats().received, 1, 'the slow target was not tried again');
    const row = await lastRow();
    const branches = (row.result as { branches: Array<{ key: string; error?: { category: string } }> }).branches;
    assert.equal(branches[0]?.error?.category, 'timeout');
  });
});

describe('hedging (route.hedgeAfterMs)', () => {
  type Branches = { branches: Array<{ key: string; outcome: string }> };

  test('slow headers: the backup starts beside the slow target and answers; the slow call is cancelled', async () => {
    reset();
    primary.script('slow_headers');
    const { data, response } = await client.chat.completions.create({ model: 'hedged', messages }).withResponse();
    assert.equal(data.choices[0]!.message.content, REPLY);
    assert.equal(response.headers.get('x-breakwater-target'), 'plain:m');
    assert.equal(response.headers.get('x-breakwater-fallback-from'), null, 'a hedge is not a fallback');
    assert.equal(primary.stats().received, 1);
    const row = await lastRow();
    assert.deepEqual(
      (row.result as Branches).branches.map((b) => [b.key, b.outcome]),
      [
        ['p:m', 'abandoned'],
        ['plain:m', 'answered'],
      ],
    );
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /hedges_total\{key="p:m"\} 1/);
  });

  test('slow first token on a stream: the backup streams the answer', async () => {
    reset();
    primary.script('slow_first_token');
    const { text, error, response } = await streamText('hedged');
    assert.equal(error, undefined);
    assert.equal(text, REPLY);
    assert.equal(response.headers.get('x-breakwater-target'), 'plain:m');
    assert.equal(primary.stats().received, 1);
  });

  test('a fast first target is answered alone: no second call', async () => {
    reset();
    const { response } = await client.chat.completions.create({ model: 'hedged', messages }).withResponse();
    assert.equal(response.headers.get('x-breakwater-target'), 'p:m');
    assert.equal(backup.stats().received, 0);
  });
});

describe('streams that finish or resume', () => {
  test('no [DONE] after finish_reason and usage: a successful stream, usage recorded', async () => {
    reset();
    primary.script('no_done');
    const { text, error } = await streamText('r', { stream_options: { include_usage: true } });
    assert.equal(error, undefined);
    assert.equal(text, REPLY);
    const row = await lastRow();
    assert.equal(row.status, 'succeeded');
    assert.ok((row.result as { usage: { total_tokens: number } | null }).usage?.total_tokens);
  });

  test('cut after the first tokens with a prefill-capable fallback: the client gets the whole answer', async () => {
    for (const fault of ['cut_stream', 'stall_stream'] as const) {
      reset();
      primary.script(fault);
      const { text, error } = await streamText('r');
      assert.equal(error, undefined, fault);
      assert.equal(text, REPLY, `${fault}: one seamless answer`);
      const sent = backup.stats().lastBodies.at(-1) as { messages: Array<{ role: string; content: string }> };
      assert.equal(sent.messages.at(-1)?.role, 'assistant', 'the partial answer was sent as a prefill');
      assert.ok(REPLY.startsWith(sent.messages.at(-1)!.content));
      const row = await lastRow();
      assert.equal(row.status, 'succeeded');
      assert.equal(row.attempts, 2, `${fault}: both attempts in one operation`);
    }
  });

  test('no prefill-capable target: a clear error naming the cut, and no prefill sent anywhere', async () => {
    reset();
    primary.script('cut_stream');
    const { text, error } = await streamText('r-no-prefill');
    assert.ok(text.length > 0 && text.length < REPLY.length);
    assert.match(String(error?.message), /The upstream ended the stream before the answer was complete/);
    assert.equal(backup.stats().received, 0, 'the non-capable target was never asked to continue');
    const row = await lastRow();
    assert.equal(row.status, 'failed');
    assert.equal(row.errorCode, 'LLM_CONNECTION_FAILED');
  });

  test('a malformed event is skipped and counted; the rest is delivered', async () => {
    reset();
    primary.script('malformed_event');
    const { text, error } = await streamText('r');
    assert.equal(error, undefined);
    assert.equal(text, REPLY, 'nothing malformed forwarded');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /breakwater_gateway_stream_malformed_events_total\{target="p:m"\} 1/);
  });
});

describe('breakers that come back', () => {
  test('an upstream down for a while then healthy: every request answered, the primary back soon after, probes bounded', async () => {
    reset();
    flapping.setDown(true);
    const targets: string[] = [];
    const ask = async () => {
      const { response } = await client.chat.completions.create({ model: 'recovering', messages }).withResponse();
      targets.push(response.headers.get('x-breakwater-target') ?? '');
    };
    for (let i = 0; i < 15; i++) {
      await ask();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const duringOutage = flapping.stats().received;
    flapping.setDown(false);
    for (let i = 0; i < 15; i++) {
      await ask();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(targets.length, 30, 'every request answered');
    assert.ok(targets.slice(0, 15).every((t) => t === 'b:m' || t === 'f:m'));
    assert.deepEqual(targets.slice(-5), Array(5).fill('f:m'), `the primary serves again: ${targets.join(' ')}`);
    // Two failing calls open it; then at most one probe per break (breaks grow to 400 ms) during ~1.5 s.
    assert.ok(duringOutage <= 12, `upstream calls during the outage: ${duringOutage}`);
  });
});
