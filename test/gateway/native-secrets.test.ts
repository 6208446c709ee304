import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { breakwaterPinoOptions } from 'breakwater/pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startScriptedServer, type Scripted, type ScriptedServer } from '../support/scripted-server.js';

// The secret-leak matrix for native upstreams: the gateway's Anthropic key (sent as x-api-key) and
// Gemini key (sent as x-goog-api-key, never as ?key=) echoed back by hostile upstreams, in error
// bodies, in URLs inside messages and in stream error events — and found nowhere the gateway writes.
const ANTHROPIC_KEY = 'sk-ant-api03-LEAKMATRIXnative0123456789';
// A Google API key has the real format: AIza + 35 characters.
const GEMINI_KEY = 'AIzaSyLEAKMATRIXnativeGemini0123456789a';
let upstream: ScriptedServer;
let gateway: Gateway;
let base: string;
const logs: string[] = [];

before(async () => {
  upstream = await startScriptedServer();
  const config = parseConfig({
    providers: {
      claude: { kind: 'anthropic', baseUrl: `${upstream.url}/v1`, apiKeyEnv: 'LEAK_ANTHROPIC_KEY' },
      google: { kind: 'gemini', baseUrl: `${upstream.url}/v1beta`, apiKeyEnv: 'LEAK_GEMINI_KEY' },
    },
    routes: {
      claude: { targets: [{ provider: 'claude', model: 'c' }], retry: { maxAttempts: 1 } },
      gemini: { targets: [{ provider: 'google', model: 'g' }], retry: { maxAttempts: 1 } },
    },
    journal: { memory: true, content: 'full' },
  });
  const sink = new Writable({ write: (chunk, _e, done) => (logs.push(chunk.toString()), done()) });
  gateway = await createGateway(config, {
    env: { LEAK_ANTHROPIC_KEY: ANTHROPIC_KEY, LEAK_GEMINI_KEY: GEMINI_KEY },
    logger: pino({ ...breakwaterPinoOptions(), level: 'debug' }, sink),
  });
  base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await gateway.close();
  await upstream.close();
});

const echo = (key: string) =>
  `x-api-key ${key} for https://generativelanguage.googleapis.com/v1beta/models/g?key=${key}`;
const CASES: Array<[model: string, key: string, answer: Scripted, stream: boolean]> = [
  [
    'claude',
    ANTHROPIC_KEY,
    { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: echo(ANTHROPIC_KEY) } } },
    false,
  ],
  [
    'claude',
    ANTHROPIC_KEY,
    { status: 401, body: { type: 'error', error: { type: 'authentication_error', message: echo(ANTHROPIC_KEY) } } },
    false,
  ],
  [
    'claude',
    ANTHROPIC_KEY,
    { status: 500, body: { type: 'error', error: { type: 'api_error', message: echo(ANTHROPIC_KEY) } } },
    false,
  ],
  [
    'claude',
    ANTHROPIC_KEY,
    {
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      sse: [
        { event: 'message_start', data: { type: 'message_start', message: { id: 'm', model: 'c', usage: {} } } },
        {
          event: 'content_block_delta',
          data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi ' } },
        },
        { event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: echo(ANTHROPIC_KEY) } } },
      ],
    },
    true,
  ],
  [
    'gemini',
    GEMINI_KEY,
    { status: 400, body: { error: { code: 400, status: 'INVALID_ARGUMENT', message: echo(GEMINI_KEY) } } },
    false,
  ],
  [
    'gemini',
    GEMINI_KEY,
    { status: 403, body: { error: { code: 403, status: 'PERMISSION_DENIED', message: echo(GEMINI_KEY) } } },
    false,
  ],
  [
    'gemini',
    GEMINI_KEY,
    {
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      sse: [
        { data: { candidates: [{ content: { parts: [{ text: 'hi ' }] } }] } },
        { data: { error: { code: 503, status: 'UNAVAILABLE', message: echo(GEMINI_KEY) } } },
      ],
    },
    true,
  ],
];

test('native provider keys never leave the gateway: not in responses, streams, logs, journal rows or metrics', async () => {
  const responses: string[] = [];
  for (const [model, , answer, stream] of CASES) {
    upstream.script(answer);
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hello' }] }),
    });
    responses.push(`${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`);
  }
  // Each key went upstream in its own header, and in no URL.
  const sent = upstream.received.slice(-CASES.length);
  for (const [index, [model, key]] of CASES.entries()) {
    const headers = sent[index]!.headers;
    assert.equal(model === 'claude' ? headers['x-api-key'] : headers['x-goog-api-key'], key);
    assert.ok(!sent[index]!.url.includes(key));
  }
  const places = {
    responses: responses.join('\n'),
    logs: logs.join('\n'),
    journal: JSON.stringify(await gateway.journal.query({ limit: 100 })),
    metrics: await (await fetch(`${base}/metrics`)).text(),
  };
  assert.match(places.responses, /\[REDACTED\]/, 'the echoed keys reached the redactor (the test is not vacuous)');
  assert.match(places.responses, /event|data:/, 'the stream cases streamed');
  assert.ok(places.journal.includes('"failed"'));
  for (const [place, text] of Object.entries(places))
    for (const key of [ANTHROPIC_KEY, GEMINI_KEY]) assert.ok(!text.includes(key), `a key leaked into ${place}`);
});
