import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';

// A non-streaming answer from an OpenAI-compatible upstream reaches the client as the upstream wrote
// it: checked (it must be an answer), not parsed and serialised again. Digits, escapes and spacing
// a re-serialisation would change are the proof.
const CHAT_TEXT =
  '{ "id": "chatcmpl-1", "object": "chat.completion", "model": "x",\n' +
  '  "choices": [{ "index": 0, "message": { "role": "assistant", "content": "caf\\u00e9" }, "finish_reason": "stop" }],\n' +
  '  "usage": { "prompt_tokens": 3, "completion_tokens": 1.0, "total_tokens": 4 } }';
const EMBEDDINGS_TEXT =
  '{"object":"list","model":"x","data":[{"object":"embedding","index":0,"embedding":[0.10000000000000000555,-2.50E-3,1e2]}],' +
  '"usage":{"prompt_tokens":1,"total_tokens":1}}';
const NOT_AN_ANSWER = '{"object":"chat.completion","choices":[]}';

const STREAM_TEXT =
  'data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n' +
  'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}\n\n' +
  'data: [DONE]\n\n';

let upstream: Server;
let gateway: Gateway;
let base: string;
/** What the upstream received, by the request's x-request-id. */
const received = new Map<string, string>();
before(async () => {
  upstream = createServer((request, response) => {
    let sent = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (sent += chunk));
    request.on('end', () => {
      received.set(String(request.headers['x-request-id']), sent);
      if ((JSON.parse(sent) as { stream?: boolean }).stream === true)
        return void response.writeHead(200, { 'content-type': 'text/event-stream' }).end(STREAM_TEXT);
      const text = request.url!.endsWith('/embeddings')
        ? EMBEDDINGS_TEXT
        : request.headers['x-request-id'] === 'empty'
          ? NOT_AN_ANSWER
          : CHAT_TEXT;
      response.writeHead(200, { 'content-type': 'application/json' }).end(text);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const { port } = upstream.address() as AddressInfo;
  gateway = await createGateway(
    parseConfig({
      providers: { up: { baseUrl: `http://127.0.0.1:${port}/v1` } },
      routes: { m: { targets: [{ provider: 'up', model: 'x' }], retry: { maxAttempts: 1 } } },
      journal: { memory: true },
    }),
    { env: {}, logger: pino({ level: 'silent' }) },
  );
  base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await gateway.close();
  await new Promise((resolve) => upstream.close(resolve));
});

const post = (path: string, body: unknown, requestId: string) =>
  fetch(`${base}/v1/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('answers from an OpenAI-compatible upstream', () => {
  test('a chat completion is sent byte for byte, as JSON, with the usage recorded from it', async () => {
    const response = await post('chat/completions', { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, 'c1');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(await response.text(), CHAT_TEXT);
    assert.equal(response.headers.get('x-breakwater-target'), 'up:x');
    const [row] = await gateway.journal.query({ correlationId: 'c1' });
    assert.equal(row?.status, 'succeeded');
    assert.deepEqual((row?.result as { usage?: unknown }).usage, {
      prompt_tokens: 3,
      completion_tokens: 1,
      total_tokens: 4,
    });
  });

  test('embeddings keep the upstream digits', async () => {
    const response = await post('embeddings', { model: 'm', input: 'a' }, 'e1');
    assert.equal(response.status, 200);
    assert.equal(await response.text(), EMBEDDINGS_TEXT);
  });

  test('what is not an answer is still refused, not passed through', async () => {
    const response = await post(
      'chat/completions',
      { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
      'empty',
    );
    assert.equal(response.status, 502);
    assert.doesNotMatch(await response.text(), /chat\.completion/);
  });
});

// The request goes upstream as the client wrote it, with only the model replaced: a prompt of tens
// of KB is not serialised again. Digits and escapes a re-serialisation would change are the proof.
describe('requests to an OpenAI-compatible upstream', () => {
  const client = (extra: string) =>
    `{ "model": "m", "temperature": 1.0e0, "messages": [{"role":"user","content":"caf\\u00e9"}]${extra} }`;
  const upstreamText = (extra: string) =>
    `{ "model":"x", "temperature": 1.0e0, "messages": [{"role":"user","content":"caf\\u00e9"}]${extra} }`;

  test('a chat completion: the client text, byte for byte, with the target model', async () => {
    assert.equal((await post('chat/completions', client(''), 'r1')).status, 200);
    assert.equal(received.get('r1'), upstreamText(''));
  });

  test('embeddings: the same', async () => {
    const text = '{"model":"m","input":[1.50, "caf\\u00e9"]}';
    assert.equal((await post('embeddings', text, 'r2')).status, 200);
    assert.equal(received.get('r2'), '{"model":"x","input":[1.50, "caf\\u00e9"]}');
  });

  test('a stream: as written when it asks for usage itself, with the usage option spliced in when not', async () => {
    const withUsage = ', "stream": true, "stream_options": {"include_usage": true}';
    const asked = await post('chat/completions', client(withUsage), 'r3');
    assert.equal(asked.status, 200);
    await asked.text();
    assert.equal(received.get('r3'), upstreamText(withUsage));

    const plain = await post('chat/completions', client(', "stream": true'), 'r4');
    await plain.text();
    assert.equal(
      received.get('r4'),
      `{"stream_options":{"include_usage":true},${upstreamText(', "stream": true').slice(1)}`,
    );

    const other = await post('chat/completions', client(', "stream": true, "stream_options": {"x": 1.0}'), 'r6');
    await other.text();
    assert.equal(
      received.get('r6'),
      // The value's span (the spaces around it included) is what is replaced.
      upstreamText(', "stream": true, "stream_options":{"x":1,"include_usage":true}').replace(/ }$/, '}'),
      'the option the gateway changes is serialised from what was parsed; the rest is the client text',
    );
  });

  test('a body the splice cannot describe exactly (the model key twice) is serialised from what was parsed', async () => {
    const text = '{"model":"other","messages":[{"role":"user","content":"hi"}],"model":"m"}';
    assert.equal((await post('chat/completions', text, 'r5')).status, 200);
    assert.deepEqual(JSON.parse(received.get('r5')!), { model: 'x', messages: [{ role: 'user', content: 'hi' }] });
  });
});
