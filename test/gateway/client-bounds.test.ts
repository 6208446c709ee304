import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';
import { httpRequest } from '../support/raw-http.js';
import { eventually } from '../support/wait-for.js';

// Every size and duration a client (or an upstream) controls has a bound, proven on real sockets.
let simulator: Simulator;
before(async () => {
  simulator = await startSimulator({ tokenDelayMs: 1 });
});
after(async () => simulator.close());

async function gatewayWith(
  overrides: Record<string, unknown>,
): Promise<{ gateway: Gateway; port: number; base: string }> {
  const gateway = await createGateway(
    parseConfig({
      providers: { sim: { baseUrl: simulator.url, ...(overrides['provider'] as object) } },
      routes: {
        m: {
          targets: [{ provider: 'sim', model: 'x' }],
          retry: { maxAttempts: 1 },
          ...(overrides['route'] as object),
        },
      },
      server: overrides['server'] ?? {},
      journal: { memory: true },
    }),
    { env: {}, logger: pino({ level: 'silent' }) },
  );
  const base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  return { gateway, port: (gateway.app.server.address() as { port: number }).port, base };
}

const CHAT = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra });
const post = (base: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

/** Resolves with everything the server sent once it closes the socket. */
function closed(socket: Socket): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  return new Promise((resolve) => socket.on('close', () => resolve(Buffer.concat(chunks).toString())));
}

describe('slow clients', () => {
  let port: number;
  let gateway: Gateway;
  before(async () => {
    ({ gateway, port } = await gatewayWith({ server: { headersTimeoutMs: 500, requestTimeoutMs: 800 } }));
  });
  after(async () => gateway.close());

  test('slowloris: 20 sockets trickling headers are answered 408 and closed by the header timeout', async () => {
    const sockets = Array.from({ length: 20 }, () => connect(port, '127.0.0.1'));
    const answers = sockets.map(closed);
    const trickle = setInterval(() => {
      for (const socket of sockets) if (!socket.destroyed) socket.write('x');
    }, 100);
    for (const socket of sockets) socket.write('POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-slow: ');
    try {
      const texts = await Promise.race([
        Promise.all(answers),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('sockets still open after 5 s')), 5_000)),
      ]);
      for (const text of texts) {
        assert.match(text, /^HTTP\/1\.1 408 Request Timeout/);
        assert.equal(JSON.parse(text.split('\r\n\r\n')[1]!).error.code, 'REQUEST_TIMEOUT');
      }
    } finally {
      clearInterval(trickle);
      for (const socket of sockets) socket.destroy();
    }
  });

  test('a body that trickles in is cut by the request timeout (408)', async () => {
    const socket = connect(port, '127.0.0.1');
    const answer = closed(socket);
    socket.write(
      'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{',
    );
    const trickle = setInterval(() => !socket.destroyed && socket.write(' '), 100);
    try {
      assert.match(await answer, /^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(trickle);
    }
  });

  test('a JSON nesting bomb is a 400 in the standard shape, and the gateway keeps serving', async () => {
    const base = `http://127.0.0.1:${port}`;
    const bomb = `{"model":"m","messages":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
    const response = await post(base, bomb);
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: { code: string; type: string } };
    assert.equal(body.error.code, 'VALIDATION_MALFORMED_BODY');
    assert.equal(body.error.type, 'invalid_request_error');
    assert.equal((await post(base, CHAT())).status, 200);
  });
});

test('a streaming client that stops reading is cut within the bound, and recorded cancelled', async () => {
  const { gateway, port } = await gatewayWith({
    server: { slowClientTimeoutMs: 300, maxUpstreamResponseBytes: 256 * 1024 * 1024 },
  });
  try {
    simulator.script('endless_body');
    const socket = connect(port, '127.0.0.1');
    const answer = closed(socket);
    socket.write(httpRequest('POST', '/v1/chat/completions', { 'x-request-id': 'non-reader' }, CHAT({ stream: true })));
    // Read the first bytes (the stream started), then stop reading: the kernel buffers fill up.
    await new Promise((resolve) => socket.once('data', resolve));
    socket.pause();
    const [row] = await eventually(
      () => gateway.journal.query({ correlationId: 'non-reader' }),
      (rows) => rows[0]?.status === 'cancelled',
      'the operation recorded cancelled',
      10_000,
    );
    assert.equal(row?.status, 'cancelled');
    assert.match(row?.errorMessage ?? '', /read nothing for 300 ms/);
    // The server cut the connection: once the client reads again it finds the socket closed.
    socket.resume();
    await answer;
  } finally {
    simulator.clearScript();
    await gateway.close();
  }
});

describe('an upstream that sends without end', () => {
  let gateway: Gateway;
  let base: string;
  before(async () => {
    ({ gateway, base } = await gatewayWith({ server: { maxUpstreamResponseBytes: 1024 * 1024 } }));
  });
  after(async () => gateway.close());

  test('a non-streaming body is cut at the cap: 502 invalid response, not retried', async () => {
    simulator.resetStats();
    simulator.script('endless_body');
    const response = await post(base, CHAT());
    assert.equal(response.status, 502);
    const body = (await response.json()) as { error: { code: string; category: string } };
    assert.equal(body.error.category, 'invalid_response');
    assert.equal(simulator.stats().received, 1);
  });

  test('a stream is cut at the cap with an SSE error event, never a silent close', async () => {
    simulator.script('endless_body');
    const response = await post(base, CHAT({ stream: true }));
    assert.equal(response.status, 200);
    const text = await response.text();
    const last = text.trim().split('\n\n').at(-1)!;
    assert.equal(JSON.parse(last.slice('data: '.length)).error.category, 'invalid_response');
    assert.ok(text.length < 2 * 1024 * 1024, 'the client received about the cap, not more');
  });
});

test('a hanging upstream with 64 concurrent clients: 503 + Retry-After within the queue timeout, bounded upstream calls', async () => {
  const { gateway, base } = await gatewayWith({
    provider: { concurrency: { max: 8, queue: 8, queueTimeoutMs: 200 } },
    route: { attemptTimeoutMs: 3_000, totalTimeoutMs: 5_000 },
  });
  try {
    simulator.resetStats();
    simulator.script(...Array<'hang'>(8).fill('hang'));
    const order: number[] = [];
    const requests = Array.from({ length: 64 }, () =>
      post(base, CHAT()).then(async (response) => {
        order.push(response.status);
        return {
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          body: await response.json(),
        };
      }),
    );
    const results = await Promise.all(requests);
    const rejected = results.filter((r) => r.status === 503);
    const hung = results.filter((r) => r.status === 504);
    assert.equal(rejected.length, 56, JSON.stringify(results.map((r) => r.status)));
    assert.equal(hung.length, 8);
    for (const r of rejected) {
      assert.equal(r.retryAfter, '1', JSON.stringify(r.body));
      assert.equal((r.body as { error: { code: string } }).error.code, 'BULKHEAD_REJECTED');
    }
    assert.deepEqual(order.slice(0, 56), Array(56).fill(503), 'every rejection came before any hung call ended');
    assert.equal(simulator.stats().received, 8, 'the upstream never saw more than its bound');
    // The pre-check refuses before any journal write while every target is full; a request that
    // passed it while earlier ones were still being written can still be refused by the bulkhead
    // itself (with a row). Alone, 16 rows and 48 refused; on a loaded machine a few more rows.
    const rows = await gateway.journal.query({ limit: 1000 });
    assert.ok(rows.length >= 16, `a row for each call made and each that waited in the queue (${rows.length})`);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const refused = Number(/breakwater_gateway_rejections_total\{reason="all_targets_full"\} (\d+)/.exec(metrics)?.[1]);
    assert.ok(refused > 0, 'requests were refused before any journal write');
    assert.equal(refused + rows.length, 64, 'every request was refused before any write, or has its row');
  } finally {
    simulator.clearScript();
    await gateway.close();
  }
});

test('gateway saturation: the short queue, then 503 + Retry-After; readiness reports it', async () => {
  const { gateway, base } = await gatewayWith({
    server: { maxInFlight: 2, maxQueue: 1, queueTimeoutMs: 5_000 },
    route: { attemptTimeoutMs: 2_000 },
  });
  try {
    simulator.script('hang', 'hang', 'hang');
    const hanging = [1, 2, 3].map(() => post(base, CHAT()));
    type Report = { status: string; checks: Record<string, Array<{ status: string; output?: string }>> };
    const ready = await eventually(
      async () => (await (await fetch(`${base}/health/ready`)).json()) as Report,
      (report) => report.checks['admission']?.[0]?.output === '2/2 in flight, 1 queued',
      'readiness to show the saturation',
    );
    assert.equal(ready.checks['admission']?.[0]?.status, 'warn');
    const rejected = await post(base, CHAT());
    assert.equal(rejected.status, 503);
    assert.equal(rejected.headers.get('retry-after'), '1');
    assert.equal(((await rejected.json()) as { error: { code: string } }).error.code, 'BULKHEAD_REJECTED');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /breakwater_gateway_rejections_total\{reason="admission"\} 1/);
    await Promise.all(hanging);
  } finally {
    simulator.clearScript();
    await gateway.close();
  }
});

test('every target open: fail fast without a journal row; readiness names the route', async () => {
  const { gateway, base } = await gatewayWith({ provider: { breaker: { failures: 1, breakMs: 60_000 } } });
  try {
    simulator.script('server_error');
    assert.equal((await post(base, CHAT())).status, 502);
    const before = (await gateway.journal.query({ limit: 1000 })).length;
    for (let i = 0; i < 20; i++) {
      const response = await post(base, CHAT());
      assert.equal(response.status, 503);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'CIRCUIT_OPEN');
      assert.ok(Number(response.headers.get('retry-after')) > 0);
    }
    assert.equal((await gateway.journal.query({ limit: 1000 })).length, before, 'no durable write per rejection');
    const ready = (await (await fetch(`${base}/health/ready`)).json()) as {
      status: string;
      checks: Record<string, Array<{ status: string; output?: string }>>;
    };
    assert.equal(ready.status, 'warn');
    assert.match(ready.checks['routes']?.[0]?.output ?? '', /route\(s\): m$/);
  } finally {
    await gateway.close();
  }
});

test('SIGTERM drain: new requests get SERVICE_DRAINING in the gateway shape, the stream in flight completes', async () => {
  const slow = await startSimulator({ tokenDelayMs: 40 });
  const gateway = await createGateway(
    parseConfig({
      providers: { sim: { baseUrl: slow.url } },
      routes: { m: { targets: [{ provider: 'sim', model: 'x' }] } },
      journal: { memory: true },
    }),
    { env: {}, logger: pino({ level: 'silent' }) },
  );
  const base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const stream = await post(base, CHAT({ stream: true }));
    assert.equal(stream.status, 200);
    const closing = gateway.close();
    const refused = await post(base, CHAT());
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    const body = (await refused.json()) as { error: { code: string; type: string } };
    assert.equal(body.error.code, 'SERVICE_DRAINING');
    assert.equal(body.error.type, 'overloaded_error');
    assert.match(await stream.text(), /data: \[DONE\]\n\n$/);
    await closing;
  } finally {
    await slow.close();
  }
});
