import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Agent, errors } from 'undici';
import { Cancellation } from 'breakwater';
import { headersOf, requestWhole } from '../../packages/gateway/src/upstream/whole-answer.js';
import { requestStreamed } from '../../packages/gateway/src/upstream/streamed-answer.js';

// The gateway's upstream calls: dispatches with handlers of its own instead of undici's request().
// What a caller relies on is that they answer exactly as request() would — the body (whole, or
// chunk by chunk), a failure's status, headers and text, the signal's reason when cancelled, the
// connection cut when a stream is given up, and nothing left listening on the signal afterwards.
describe('upstream calls dispatched with our own handlers', { timeout: 10_000 }, () => {
  let base: string;
  const agent = new Agent({ maxResponseSize: 64 * 1024 });
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.url === '/split') {
        // "é" is two bytes in UTF-8: the first chunk ends between them.
        const bytes = Buffer.from(`{"echo":${JSON.stringify(body)},"text":"café"}`);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write(bytes.subarray(0, bytes.length - 3));
        setTimeout(() => response.end(bytes.subarray(bytes.length - 3)), 10);
      } else if (request.url === '/limited') {
        response.writeHead(429, [
          ['retry-after', '7'],
          ['set-cookie', 'a=1'],
          ['set-cookie', 'b=2'],
        ]);
        response.end('{"error":{"message":"slow down"}}');
      } else if (request.url === '/endless') {
        response.writeHead(200);
        const timer = setInterval(() => response.write('x'.repeat(16 * 1024)), 1);
        response.on('close', () => clearInterval(timer));
      } else if (request.url === '/stream') {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.write('data: 1\n\n');
        setTimeout(() => response.end('data: 2\n\n'), 10);
      } else if (request.url === '/hold') {
        response.writeHead(200);
        response.write('{"partial":');
        // Never ends: only a cancellation does.
      }
    });
  });
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
    await agent.close();
  });
  const request = (path: string, body = '{"q":1}') => ({
    url: `${base}${path}`,
    headers: { 'content-type': 'application/json' },
    body,
  });
  const post = (path: string, signal = new Cancellation(), body?: string) =>
    requestWhole(agent, request(path, body), signal);
  const open = (path: string, signal = new Cancellation()) => requestStreamed(agent, request(path), signal);
  const readAll = async (body: AsyncIterable<Uint8Array>) => {
    let text = '';
    for await (const chunk of body) text += Buffer.from(chunk).toString();
    return text;
  };
  const upstreamClosed = () =>
    new Promise<void>((resolve) =>
      server.once('request', (_, response: ServerResponse) => response.on('close', resolve)),
    );

  test('the whole body comes back as text, a character split across chunks intact', async () => {
    const answer = await post('/split', new Cancellation(), '{"q":"ü"}');
    assert.equal(answer.statusCode, 200);
    assert.deepEqual(JSON.parse(answer.text), { echo: '{"q":"ü"}', text: 'café' });
  });

  test('an error answer keeps its status, its body and its headers (repeated ones as a list)', async () => {
    const answer = await post('/limited');
    assert.equal(answer.statusCode, 429);
    assert.equal(JSON.parse(answer.text).error.message, 'slow down');
    const headers = headersOf(answer.rawHeaders);
    assert.equal(headers['retry-after'], '7');
    assert.deepEqual(headers['set-cookie'], ['a=1', 'b=2']);
  });

  test("a cancelled signal rejects with its reason, before and during the answer's body", async () => {
    const early = new Cancellation();
    const reason = new Error('gave up early');
    early.abort(reason);
    await assert.rejects(post('/hold', early), (error) => error === reason);

    const late = new Cancellation();
    const pending = post('/hold', late);
    const closed = new Promise<void>((resolve) =>
      server.once('request', (_, response) => response.on('close', resolve)),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lateReason = new Error('gave up mid-body');
    late.abort(lateReason);
    await assert.rejects(pending, (error) => error === lateReason);
    await closed; // the upstream saw its connection cut
  });

  test("an answer past the agent's size cap is cut with undici's own error", async () => {
    await assert.rejects(post('/endless'), errors.ResponseExceededMaxSizeError);
  });

  test('a stream is handed over at its headers and read chunk by chunk to its end', async () => {
    const answer = await open('/stream');
    assert.equal(answer.statusCode, 200);
    assert.equal(answer.text, undefined);
    assert.equal(await readAll(answer.body), 'data: 1\n\ndata: 2\n\n');
  });

  test("a stream's failure is read whole before it is handed over", async () => {
    const answer = await open('/limited');
    assert.equal(answer.statusCode, 429);
    assert.equal(JSON.parse(answer.text!).error.message, 'slow down');
    assert.equal(headersOf(answer.rawHeaders)['retry-after'], '7');
  });

  test('a stream given up mid-way cuts the connection, and a read waiting fails', async () => {
    const closed = upstreamClosed();
    const answer = await open('/hold');
    assert.equal((await answer.body.next()).value?.toString(), '{"partial":');
    const waiting = answer.body.next();
    answer.cut();
    await assert.rejects(waiting, /closed before its end/);
    await closed;
  });

  test("a cancelled signal fails a stream's reads with its reason", async () => {
    const signal = new Cancellation();
    const answer = await open('/hold', signal);
    await answer.body.next();
    const reason = new Error('the client left');
    signal.abort(reason);
    await assert.rejects(answer.body.next(), (error) => error === reason);
  });

  test('nothing stays listening on the signal once the answer is in', async () => {
    let listening = 0;
    const signal = {
      aborted: false,
      reason: undefined,
      addEventListener: () => void listening++,
      removeEventListener: () => void listening--,
    };
    await post('/split', signal as unknown as Cancellation);
    await post('/limited', signal as unknown as Cancellation);
    await readAll((await open('/stream', signal as unknown as Cancellation)).body);
    await open('/limited', signal as unknown as Cancellation);
    assert.equal(listening, 0);
  });
});
