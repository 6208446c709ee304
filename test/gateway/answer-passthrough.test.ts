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

let upstream: Server;
let gateway: Gateway;
let base: string;
before(async () => {
  upstream = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
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
    body: JSON.stringify(body),
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
