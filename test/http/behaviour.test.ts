import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FRAMEWORKS, healthFor, SECRETS, type RunningApp } from './apps.js';

// One behaviour suite, three frameworks, real HTTP on loopback.
const mediaType = (res: Response) => res.headers.get('content-type')?.split(';', 1)[0];
for (const start of FRAMEWORKS) {
  describe(`HTTP integration: ${start.name.replace('start', '')}`, () => {
    let app: RunningApp;
    let envelopeApp: RunningApp;
    const logged: string[] = [];
    before(async () => {
      app = await start({
        health: healthFor(false),
        metrics: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'up 1\n' }),
        onError: (e) => logged.push(e.code),
      });
      envelopeApp = await start({ format: 'envelope' });
    });
    after(async () => {
      await app.close();
      await envelopeApp.close();
    });
    const call = async (path: string, init: RequestInit = {}, target = () => app) => {
      const res = await fetch(`${target().url}${path}`, init);
      const text = await res.text();
      return { res, text, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
    };
    const post = (path: string, body: string, contentType = 'application/json', headers: Record<string, string> = {}) =>
      call(path, { method: 'POST', body, headers: { 'content-type': contentType, ...headers } });

    test('a success passes through, with a generated correlation id in the response', async () => {
      const { res, body } = await call('/ok');
      assert.equal(res.status, 200);
      assert.deepEqual(body, { ok: true });
      assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    });

    test('validation failures: every field at once, 422, problem+json', async () => {
      const { res, body } = await post(
        '/orders',
        JSON.stringify({ item: '', quantity: -1, email: 'nope' }),
        'application/json',
        { 'x-request-id': 'req-validation-1' },
      );
      assert.equal(res.status, 422);
      assert.equal(mediaType(res), 'application/problem+json');
      assert.equal(body!['code'], 'VALIDATION_INVALID_INPUT');
      assert.deepEqual(body!['details'].issues.map((i: { path: string }) => i.path).sort(), [
        'email',
        'item',
        'quantity',
      ]);
      assert.equal(body!['correlation_id'], 'req-validation-1');
      assert.equal(res.headers.get('x-request-id'), 'req-validation-1');
      assert.equal(body!['instance'], '/orders');
    });

    test('malformed JSON is 400, a non-JSON body 415, a too-large body 413 — all in the same format', async () => {
      const malformed = await post('/orders', '{"item": "x", ');
      assert.equal(malformed.res.status, 400);
      assert.equal(malformed.body!['code'], 'VALIDATION_MALFORMED_BODY');
      const text = await post('/orders', 'item=x', 'text/plain');
      assert.equal(text.res.status, 415);
      assert.equal(text.body!['code'], 'VALIDATION_UNSUPPORTED_MEDIA_TYPE');
      const large = await post(
        '/orders',
        JSON.stringify({ item: 'x'.repeat(64 * 1024), quantity: 1, email: 'a@b.co' }),
      );
      assert.equal(large.res.status, 413);
      assert.equal(large.body!['code'], 'VALIDATION_PAYLOAD_TOO_LARGE');
    });

    test('404 and 405 (with Allow) in the same format', async () => {
      const missing = await call('/nope');
      assert.equal(missing.res.status, 404);
      assert.equal(missing.body!['code'], 'RESOURCE_NOT_FOUND');
      const wrongMethod = await call('/items/7', { method: 'DELETE' });
      assert.equal(wrongMethod.res.status, 405);
      assert.equal(wrongMethod.body!['code'], 'RESOURCE_METHOD_NOT_ALLOWED');
      assert.match(wrongMethod.res.headers.get('allow') ?? '', /GET/);
    });

    test('dependency failures: our own key rejected upstream is 502; rate limits and outages carry Retry-After', async () => {
      const auth = await call('/upstream/401');
      assert.equal(auth.res.status, 502);
      assert.equal(auth.body!['code'], 'UPSTREAM_AUTH_FAILED');
      const limited = await call('/upstream/429');
      assert.equal(limited.res.status, 429);
      assert.equal(limited.res.headers.get('retry-after'), '7');
      const down = await call('/upstream/503');
      assert.equal(down.res.status, 503);
      assert.equal(down.res.headers.get('retry-after'), '3');
      assert.equal(down.body!['code'], 'UPSTREAM_OVERLOADED');
    });

    test('5xx bodies carry no internals: generic message and the correlation id only', async () => {
      const { res, text, body } = await call('/crash', {
        headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      });
      assert.equal(res.status, 500);
      assert.equal(body!['detail'], 'An internal error occurred.');
      assert.equal(body!['correlation_id'], '4bf92f3577b34da6a3ce929d0e0e4736', 'the traceparent trace id');
      for (const leak of [
        SECRETS.dbPassword,
        'db.internal',
        'postgres://',
        'Cannot read properties',
        'TypeError',
        'eyJ',
      ])
        assert.ok(!text.includes(leak), `${leak} leaked`);
    });

    test('the envelope format', async () => {
      const { res, body } = await call('/nope', {}, () => envelopeApp);
      assert.equal(res.status, 404);
      assert.equal(body!['success'], false);
      assert.equal(body!['data'], null);
      assert.equal(body!['error'].code, 'RESOURCE_NOT_FOUND');
      assert.equal(typeof body!['error'].correlation_id, 'string');
    });

    test('health: liveness passes; readiness warns for a non-critical dependency down; metrics served', async () => {
      const live = await call('/health/live');
      assert.equal(live.res.status, 200);
      assert.equal(mediaType(live.res), 'application/health+json');
      const ready = await call('/health/ready');
      assert.equal(ready.res.status, 200);
      assert.equal(ready.body!['status'], 'warn');
      assert.equal(ready.body!['checks']['redis:responsiveness'][0].status, 'fail');
      assert.equal(ready.body!['checks']['redis:responsiveness'][0].lastErrorCategory, 'network');
      assert.equal(ready.body!['checks']['postgres:responsiveness'][0].status, 'pass');
      const metrics = await fetch(`${app.url}/metrics`);
      assert.equal(metrics.status, 200);
      assert.equal(await metrics.text(), 'up 1\n');
    });

    test('every error went through onError (logging hook) with its code', () => {
      assert.ok(
        logged.includes('UPSTREAM_AUTH_FAILED') &&
          logged.includes('INTERNAL_ERROR') &&
          logged.includes('VALIDATION_INVALID_INPUT'),
      );
    });
  });
}

for (const start of FRAMEWORKS) {
  test(`${start.name.replace('start', '')}: asyncContext false skips AsyncLocalStorage, the correlation id still travels where it is passed`, async () => {
    const scoped = await start({});
    const unscoped = await start({ asyncContext: false });
    try {
      const headers = { 'x-request-id': 'req-context-1' };
      const inside = await (await fetch(`${scoped.url}/whoami`, { headers })).json();
      assert.deepEqual(inside, { correlationId: 'req-context-1' }, 'by default code below the handler sees the id');
      const outside = await fetch(`${unscoped.url}/whoami`, { headers });
      assert.deepEqual(await outside.json(), { correlationId: null }, 'no AsyncLocalStorage scope');
      assert.equal(outside.headers.get('x-request-id'), 'req-context-1', 'still echoed');
      const failed = await fetch(`${unscoped.url}/upstream/503`, { headers });
      assert.equal(((await failed.json()) as { correlation_id?: string }).correlation_id, 'req-context-1');
    } finally {
      await scoped.close();
      await unscoped.close();
    }
  });
}
