import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, test } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';

// The gateway runs without an AsyncLocalStorage scope per request (asyncContext: false): the
// request's correlation id must still reach every log line, journal row and error it belongs to.
const ADMIN_KEY = 'admin-key-for-correlation-tests';
let simulator: Simulator;
let gateway: Gateway;
let base: string;
const lines: Array<Record<string, unknown>> = [];

before(async () => {
  simulator = await startSimulator({ retryAfterMs: 5 });
  gateway = await createGateway(
    parseConfig({
      providers: { sim: { baseUrl: simulator.url } },
      routes: { chat: { targets: [{ provider: 'sim', model: 'm' }], retry: { maxAttempts: 2 } } },
      journal: { memory: true },
      admin: { keySha256: createHash('sha256').update(ADMIN_KEY).digest('hex') },
    }),
    {
      env: {},
      logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }),
    },
  );
  base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
});
beforeEach(() => simulator.clearScript());
after(async () => {
  await gateway?.close();
  await simulator?.close();
});

const chat = (id: string, stream = false) =>
  fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': id },
    body: JSON.stringify({ model: 'chat', stream, messages: [{ role: 'user', content: 'hi' }] }),
  });
const linesOf = (id: string) =>
  lines.filter((line) => line['correlation_id'] === id).map((line) => line['event'] ?? line['msg']);

test('a retried request: the retry line and the journal row carry its correlation id', async () => {
  simulator.script('unavailable', 'ok');
  const response = await chat('corr-retried-1');
  assert.equal(response.status, 200, await response.text());
  assert.deepEqual(linesOf('corr-retried-1'), ['retry']);
  const [row] = await gateway.journal.query({ correlationId: 'corr-retried-1' });
  assert.equal(row?.status, 'succeeded');
});

test('a failed request: the failure lines and the error body carry its correlation id', async () => {
  simulator.script('quota');
  const response = await chat('corr-failed-1');
  const body = (await response.json()) as { error: { correlation_id: string } };
  assert.equal(body.error.correlation_id, 'corr-failed-1');
  assert.deepEqual(linesOf('corr-failed-1'), ['call_failed', 'request failed: LLM_QUOTA_EXCEEDED']);
});

test('a stream cut after its first byte: the error event and its log line carry the correlation id', async () => {
  simulator.script('stream_error');
  const text = await (await chat('corr-stream-1', true)).text();
  assert.match(text, /"correlation_id":"corr-stream-1"/);
  assert.ok(
    linesOf('corr-stream-1').some((event) => String(event).startsWith('stream ended by')),
    JSON.stringify(linesOf('corr-stream-1')),
  );
});

test("an operator's action is journaled under the admin request's correlation id", async () => {
  const response = await fetch(`${base}/admin/breakers/sim:m/reset`, {
    method: 'POST',
    headers: { 'x-admin-key': ADMIN_KEY, 'x-request-id': 'corr-admin-1' },
  });
  assert.equal(response.status, 200, await response.text());
  const [row] = await gateway.journal.query({ correlationId: 'corr-admin-1' });
  assert.equal(row?.kind, 'operator.action');
});
