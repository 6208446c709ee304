import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';
import { httpRequest, rawRequest } from '../support/raw-http.js';

// Authorisation is decided on the matched route: no spelling of a protected path reaches its
// handler without the key (the attack: `/%761/chat/completions`, `/%61dmin/operations`).
const ADMIN_KEY = 'admin-key-for-access-tests';
const CLIENT_KEY = 'client-key-for-access-tests';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
let simulator: Simulator;
let gateway: Gateway;
let port: number;
const BODY = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], input: 'x' });

async function start(throttle: { burst: number; perMinute: number }) {
  return createGateway(
    parseConfig({
      providers: { sim: { baseUrl: simulator.url } },
      routes: { m: { targets: [{ provider: 'sim', model: 'x' }] } },
      clients: [{ name: 'tests', keySha256: sha(CLIENT_KEY) }],
      admin: { keySha256: sha(ADMIN_KEY) },
      authThrottle: throttle,
      journal: { memory: true },
    }),
    { env: {}, logger: pino({ level: 'silent' }) },
  );
}

before(async () => {
  simulator = await startSimulator();
  // The fuzz sends thousands of keyless requests from one address: throttling is tested below.
  gateway = await start({ burst: 1_000_000, perMinute: 1_000_000 });
  await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  port = (gateway.app.server.address() as { port: number }).port;
});
after(async () => {
  await gateway.close();
  await simulator.close();
});

const PROTECTED: Array<{ method: string; path: string }> = [
  { method: 'POST', path: '/v1/chat/completions' },
  { method: 'POST', path: '/v1/embeddings' },
  { method: 'GET', path: '/v1/models' },
  { method: 'GET', path: '/admin/operations' },
  { method: 'GET', path: '/admin/operations/0190a0b0-0000-7000-8000-000000000000' },
  { method: 'GET', path: '/admin/breakers' },
];

const hex = (c: string) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
/** Ways to spell one character of a path that a server might decode to the same thing. */
const spellings = (c: string): string[] => [
  c,
  hex(c).toUpperCase(),
  hex(c).toLowerCase(),
  /[a-z]/.test(c) ? c.toUpperCase() : c,
  // Overlong UTF-8 (C0/C1 lead bytes): invalid, must never decode to the ASCII character.
  `%${(0xc0 | (c.charCodeAt(0) >> 6)).toString(16)}%${(0x80 | (c.charCodeAt(0) & 0x3f)).toString(16)}`,
];

const variant = fc
  .record({
    route: fc.constantFrom(...PROTECTED),
    // Mostly the character itself, so that many variants still decode onto the protected route.
    picks: fc.array(fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(4) }), {
      minLength: 64,
      maxLength: 64,
    }),
    prefix: fc.constantFrom('', '', '', '/', '//', '/./', '/x/../', '/v1/../', '/%2e/', '/%2e%2e/'),
    slashes: fc.constantFrom('/', '/', '/', '//', '%2f', '%2F', '/./'),
    suffix: fc.constantFrom('', '', '/', '//', '/.', '?x=1', '#frag', '%20', ';a=b'),
  })
  .map(({ route, picks, prefix, slashes, suffix }) => {
    const segments = route.path
      .split('/')
      .slice(1)
      .map((segment, s) => [...segment].map((c, i) => spellings(c)[picks[(s * 7 + i) % 64]!]!).join(''));
    return { method: route.method, path: prefix.replace(/\/$/, '') + '/' + segments.join(slashes) + suffix };
  });

test('the canonical protected paths answer with the keys (so the fuzz below can fail)', async () => {
  for (const { method, path } of PROTECTED) {
    const admin = path.startsWith('/admin');
    const headers: Record<string, string> = admin
      ? { 'x-admin-key': ADMIN_KEY }
      : { authorization: `Bearer ${CLIENT_KEY}` };
    const response = await rawRequest(port, httpRequest(method, path, headers, method === 'POST' ? BODY : undefined));
    assert.ok(
      response.status === 200 || (path.includes('/operations/') && response.status === 404),
      `${path}: ${response.status}`,
    );
  }
});

test('no spelling of a protected path runs its handler without a key (path-encoding fuzz)', async () => {
  simulator.resetStats();
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(variant, fc.boolean(), async ({ method, path }, withWrongKey) => {
      const headers: Record<string, string> = withWrongKey
        ? { authorization: 'Bearer wrong', 'x-admin-key': 'wrong' }
        : {};
      const response = await rawRequest(port, httpRequest(method, path, headers, method === 'POST' ? BODY : undefined));
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      assert.ok(
        response.status >= 400 && response.status < 500,
        `${method} ${path} answered ${response.status}: ${response.body.slice(0, 200)}`,
      );
      assert.ok(!response.body.includes('"data"'), `${method} ${path} leaked a listing`);
    }),
    { numRuns: 600 },
  );
  assert.equal(simulator.stats().received, 0, 'no request reached the upstream');
  // Both outcomes occur: paths fastify decodes onto a protected route (401) and paths it does not (404).
  assert.ok((statuses.get(401) ?? 0) > 0 && (statuses.get(404) ?? 0) > 0, JSON.stringify([...statuses]));
});

test('the percent-encoded paths of the attack report are refused', async () => {
  for (const path of ['/%761/chat/completions', '/%76%31/chat/completions', '/v1/chat%2fcompletions']) {
    const response = await rawRequest(port, httpRequest('POST', path, {}, BODY));
    assert.ok([401, 404].includes(response.status), `${path}: ${response.status}`);
  }
  for (const path of ['/%61dmin/operations', '/admin/%6fperations', '/admin//operations', '/ADMIN/operations']) {
    const response = await rawRequest(port, httpRequest('GET', path));
    assert.ok([401, 404].includes(response.status), `${path}: ${response.status}`);
  }
  assert.equal(simulator.stats().received, 0);
});

test('a keyless client cannot make the gateway read its body: 401 before the body arrives', async () => {
  const head = httpRequest('POST', '/v1/chat/completions', { 'content-length': '1000000' }).replace(
    /\r\n\r\n$/,
    '\r\n\r\n',
  );
  const response = await rawRequest(port, head);
  assert.equal(response.status, 401);
});

test('wrong keys are throttled per address: 429 + Retry-After after the burst, counted in /metrics', async () => {
  const throttled = await start({ burst: 3, perMinute: 6 });
  await throttled.app.listen({ port: 0, host: '127.0.0.1' });
  const p = (throttled.app.server.address() as { port: number }).port;
  try {
    const attempt = (key: string) =>
      rawRequest(p, httpRequest('POST', '/v1/chat/completions', { authorization: `Bearer ${key}` }, BODY));
    for (let i = 0; i < 3; i++) assert.equal((await attempt('guess')).status, 401);
    const limited = await attempt('guess');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['retry-after'], '10', 'one failure allowed every 10 s at 6 per minute');
    assert.equal(JSON.parse(limited.body).error.code, 'REQUEST_RATE_LIMITED');
    assert.equal((await attempt(CLIENT_KEY)).status, 429, 'a throttled address is not even checked');
    const metrics = await rawRequest(p, httpRequest('GET', '/metrics'));
    assert.match(metrics.body, /breakwater_gateway_auth_failures_total\{access="client"\} 3/);
    assert.match(metrics.body, /breakwater_gateway_rejections_total\{reason="auth_throttled"\} 2/);
  } finally {
    await throttled.close();
  }
});
