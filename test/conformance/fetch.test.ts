import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { z } from 'zod';
import { classify, classifyResponse } from 'breakwater';
import { RULES } from 'breakwater/rules';
import { conformance, thrownBy } from '../support/conformance.js';
import { freePort } from '../support/free-port.js';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.js';
import { selfSignedCertificate } from '../support/self-signed.js';
import { startUnacceptingListener } from '../support/unaccepting-listener.js';

// Node's fetch and undici against closed ports, slow servers and broken bodies on loopback.
const proof = conformance([RULES.net, RULES.abort, RULES.response]);
let server: ScriptedServer;

before(async () => {
  server = await startScriptedServer();
});
after(() => server.close());

describe('fetch / undici failures', () => {
  test('a closed port is a retryable network failure', async () => {
    const port = await freePort();
    const error = proof.expect(await thrownBy(() => fetch(`http://127.0.0.1:${port}/`)), {
      rule: RULES.net.connection_failed,
      code: 'UPSTREAM_CONNECTION_FAILED',
    });
    assert.equal(error.details?.['errno'], 'ECONNREFUSED');
  });

  test('AbortSignal.timeout is a timeout; AbortController.abort is a cancellation', async () => {
    server.script({ hang: true });
    proof.expect(await thrownBy(() => fetch(server.url, { signal: AbortSignal.timeout(50) })), {
      rule: RULES.abort.timed_out,
      code: 'OPERATION_TIMEOUT',
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const cancelled = proof.expect(await thrownBy(() => fetch(server.url, { signal: controller.signal })), {
      rule: RULES.abort.aborted,
      code: 'REQUEST_CANCELLED',
      status: 499,
    });
    assert.equal(cancelled.origin, 'caller');
  });

  test('undici headersTimeout and a request aborted through undici', async () => {
    server.script({ hang: true });
    const agent = new Agent({ headersTimeout: 80 });
    proof.expect(await thrownBy(() => request(server.url, { dispatcher: agent })), {
      rule: RULES.net.response_timeout,
      code: 'UPSTREAM_TIMEOUT',
    });
    await agent.close();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    proof.expect(await thrownBy(() => request(server.url, { signal: controller.signal })), {
      rule: RULES.abort.aborted,
      code: 'REQUEST_CANCELLED',
    });
  });

  test('a connect that never completes hits undici connect timeout', async () => {
    const listener = await startUnacceptingListener();
    try {
      const agent = new Agent({ connect: { timeout: 150 } });
      proof.expect(await thrownBy(() => request(`http://127.0.0.1:${listener.port}/`, { dispatcher: agent })), {
        rule: RULES.net.connect_timeout,
      });
      await agent.destroy();
    } finally {
      listener.close();
    }
  });

  test('a self-signed certificate is a TLS failure, not retried', async () => {
    const tls = createServer(selfSignedCertificate(), (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    try {
      const port = (tls.address() as AddressInfo).port;
      proof.expect(await thrownBy(() => fetch(`https://127.0.0.1:${port}/`)), {
        rule: RULES.net.tls_failed,
        retryable: false,
      });
    } finally {
      tls.close();
    }
  });

  test('a body cut off mid-way, malformed JSON and a schema mismatch', async () => {
    server.script({ sse: [{ data: 'partial' }], cut: true });
    const res = await fetch(server.url);
    proof.expect(await thrownBy(() => res.text()), { rule: RULES.net.connection_failed });
    server.script({ status: 200, body: '{"id": 1, "choices": [' });
    proof.expect(await thrownBy(async () => (await fetch(server.url)).json()), {
      rule: RULES.response.malformed_json,
      code: 'UPSTREAM_INVALID_RESPONSE',
    });
    server.script({ status: 200, body: { id: 1, choices: 'none' } });
    const schema = z.object({ choices: z.array(z.object({ message: z.string() })) });
    proof.expect(await thrownBy(async () => schema.parse(await (await fetch(server.url)).json())), {
      rule: RULES.response.schema_mismatch,
    });
  });

  test('a body larger than undici maxResponseSize is cut at the cap', async () => {
    server.script({ status: 200, body: { text: 'x'.repeat(64 * 1024) } });
    const agent = new Agent({ maxResponseSize: 1024 });
    try {
      const thrown = await thrownBy(async () => (await request(server.url, { dispatcher: agent })).body.text());
      proof.expect(thrown, { rule: RULES.net.response_too_large, category: 'invalid_response' });
    } finally {
      await agent.close();
    }
  });

  test("the same SyntaxError from the caller's body is the caller's validation error", async () => {
    const error = classify(await thrownBy(async () => JSON.parse('{oops')), { origin: 'caller' });
    assert.equal(error.code, 'VALIDATION_MALFORMED_BODY');
    assert.equal(error.status, 400);
  });

  test('classifyResponse reads a non-2xx fetch response without throwing it', async () => {
    server.script({ status: 503, headers: { 'retry-after': '4' }, body: { error: 'busy' } });
    const res = await fetch(`${server.url}/v1/things?key=sk-abcdef1234567890`);
    const error = classifyResponse({ status: res.status, headers: res.headers, url: res.url });
    assert.ok(error);
    assert.equal(error.category, 'overloaded');
    assert.equal(error.retryAfterMs, 4000);
    assert.equal(error.dependency, `127.0.0.1:${server.port}`);
    assert.ok(!error.message.includes('sk-abcdef1234567890'));
  });

  test('every socket, abort and body row is proven here', () => {
    // ENOTFOUND needs a DNS query, which leaves loopback: proven by a unit test on a getaddrinfo
    // error instead (classify.test.ts). A socket EPIPE etc. share the connection_failed row.
    proof.assertCovered([RULES.net.dns_not_found]);
  });
});
