import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, mock, test } from 'node:test';
import { Pool, type Dispatcher } from 'undici';
import { StreamReader } from '../../packages/gateway/src/upstream/stream-reader.js';
import { waitFor } from '../support/wait-for.js';

// An upstream stream that ends with `[DONE]` and then its body's end a moment later (as real
// providers often send them, in separate writes): the gateway must read that end and keep the
// connection, not cut the body — a cut aborts the request and closes the connection, and the next
// call pays a new connection (a TLS handshake, with a real provider).
describe('StreamReader.release: the upstream connection outlives a finished stream', () => {
  let server: Server;
  let pool: Pool;
  const sockets = new Set<Socket>();
  let held: ServerResponse | undefined;

  before(async () => {
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: {"choices":[{"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n');
      held = response;
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 1 });
  });
  after(async () => {
    await pool.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** One stream read to `[DONE]` through the reader; returns the body to release. */
  async function readToDone(): Promise<{ reader: StreamReader; body: Dispatcher.ResponseData['body'] }> {
    const response = await pool.request({ path: '/v1/chat/completions', method: 'POST', body: '{}' });
    const reader = new StreamReader(response.body, 0, 'test:model');
    const first = await reader.next();
    assert.ok('chunk' in first && first.chunk.content === 'hi');
    assert.deepEqual(await reader.next(), { done: true });
    return { reader, body: response.body };
  }

  test('after [DONE] the rest of the body is read to its end and the connection goes back to the pool', async () => {
    const { reader, body } = await readToDone();
    let cut = false;
    reader.release(() => {
      cut = true;
      body.destroy();
    });
    held!.end();
    await waitFor(() => pool.stats.free === 1, 'the connection to be free in the pool');
    assert.equal(cut, false);
    assert.equal(pool.stats.connected, 1);
    await readToDone().then(({ reader: again, body: second }) => {
      again.release(() => second.destroy());
      held!.end();
    });
    assert.equal(sockets.size, 1, 'the second call came on the same connection');
  });

  test('an upstream that keeps sending after [DONE] is cut', async () => {
    const { reader, body } = await readToDone();
    let cut = false;
    // The drain's deadline is made on a mocked clock that never moves: only the data can cut it.
    mock.timers.enable({ apis: ['setTimeout'] });
    reader.release(() => {
      cut = true;
      body.destroy();
    });
    mock.timers.reset();
    held!.write(': more after the end\n\n');
    await waitFor(() => cut, 'the body to be cut');
    held!.end();
  });

  test('an upstream whose end does not come within a second is cut', async () => {
    const { reader, body } = await readToDone();
    mock.timers.enable({ apis: ['setTimeout'] });
    let cut = false;
    try {
      reader.release(() => {
        cut = true;
        body.destroy();
      });
      mock.timers.tick(999);
      assert.equal(cut, false);
      mock.timers.tick(1);
      assert.equal(cut, true);
    } finally {
      mock.timers.reset();
      held!.end();
    }
  });

  test('a stream given up before its end is cut at once', async () => {
    const response = await pool.request({ path: '/v1/chat/completions', method: 'POST', body: '{}' });
    const reader = new StreamReader(response.body, 0, 'test:model');
    await reader.next();
    let cut = false;
    reader.release(() => {
      cut = true;
      response.body.destroy();
    });
    assert.equal(cut, true);
    held!.end();
  });
});
