import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { FRAMEWORKS, type RunningApp } from './apps.js';

// Hostile input against the three integrations: every answer is a success or a well-formed error
// in the chosen format, and the server keeps serving. Bounded: a fixed number of requests each.
const RUNS = Number(process.env.FUZZ_RUNS ?? 120);

const jsonish = fc.oneof(
  fc.json(),
  fc.string(),
  fc.constantFrom(
    '{',
    '{"item":',
    '[1,2',
    'null',
    '"x"',
    '{"__proto__":{"polluted":1}}',
    '{"constructor":{"prototype":{"x":1}}}',
    '\u0000\u0001',
    '{"item":"\ud800"}',
  ),
  fc.integer({ min: 1, max: 20_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 1, max: 5_000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  fc
    .integer({ min: 10_000, max: 200_000 })
    .map((size) => JSON.stringify({ item: 'x'.repeat(size), quantity: 1, email: 'a@b.co' })),
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/vnd.api+json',
  'garbage/☃'.replace('☃', 'x'),
  '',
);
const headerValue = fc.oneof(
  fc.string({ maxLength: 300 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
  fc.constantFrom(
    '00-00000000000000000000000000000000-0000000000000000-00',
    '01-zz-yy-xx',
    'x'.repeat(8_000),
    ' spaced id ',
    'id;drop table',
  ),
);
const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS');
const path = fc.oneof(
  fc.constantFrom(
    '/orders',
    '/ok',
    '/items/1',
    '/crash',
    '/upstream/500',
    '/nope',
    '/orders/../ok',
    '/%zz',
    '/items/%00',
  ),
  fc.webPath(),
);

for (const start of FRAMEWORKS) {
  describe(`fuzz: ${start.name.replace('start', '')}`, () => {
    let app: RunningApp;
    before(async () => {
      app = await start({});
    });
    after(() => app.close());

    test('any method, path, body, content type and header values get a well-formed answer; the server survives', async () => {
      await fc.assert(
        fc.asyncProperty(
          method,
          path,
          jsonish,
          contentType,
          headerValue,
          headerValue,
          async (m, p, body, type, requestId, traceparent) => {
            const headers: Record<string, string> = { 'x-request-id': requestId, traceparent };
            if (type) headers['content-type'] = type;
            const res = await fetch(`${app.url}${p.startsWith('/') ? p : `/${p}`}`, {
              method: m,
              headers,
              ...(m === 'GET' || m === 'OPTIONS' ? {} : { body }),
            });
            const text = await res.text();
            assert.ok(res.status >= 200 && res.status < 600, `status ${res.status}`);
            if (res.status >= 400 && m !== 'OPTIONS') {
              const problem = JSON.parse(text) as Record<string, unknown>;
              assert.equal(typeof problem['code'], 'string', text);
              assert.equal(problem['status'], res.status, text);
              assert.equal(res.headers.get('content-type')?.split(';')[0], 'application/problem+json');
              assert.match(String(problem['code']), /^[A-Z][A-Z0-9_]+$/);
              if (res.status >= 500)
                assert.ok(!text.includes('Error:') && !text.includes(' at '), `internals in ${text}`);
            }
            const echoed = res.headers.get('x-request-id') ?? '';
            assert.ok(
              /^[A-Za-z0-9._:-]{1,128}$/.test(echoed),
              `unsafe correlation id echoed: ${JSON.stringify(echoed)}`,
            );
          },
        ),
        { numRuns: RUNS },
      );
      const alive = await fetch(`${app.url}/ok`);
      assert.equal(alive.status, 200);
    });

    test("bytes Node's HTTP parser rejects still get a problem+json answer", async () => {
      const { connect } = await import('node:net');
      const url = new URL(app.url);
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect({ host: url.hostname, port: Number(url.port) }, () =>
          socket.write('GET /ok HTTP/1.1\r\nHost: x\r\nx-bad: a\u0001b\r\n\r\n'),
        );
        let data = '';
        socket.on('data', (chunk) => (data += chunk.toString()));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      assert.match(raw, /^HTTP\/1\.1 400/);
      assert.match(raw, /content-type: application\/problem\+json/i);
      assert.match(raw, /"code":"VALIDATION_MALFORMED_BODY"/);
    });
  });
}
