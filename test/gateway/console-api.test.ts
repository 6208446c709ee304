import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';

// The console's HTTP contract, without a browser: sessions, CSRF and origin checks, throttled
// logins, maintenance and drains with who did them, and nothing secret in what it serves.
const ADMIN_KEY = 'console-api-admin-key-0123456789';
const PROVIDER_KEY = 'sk-proj-consoleAPIsecret0123456789';
let simulator: Simulator;
let gateway: Gateway;
let base: string;

const startGateway = (authThrottle = { burst: 100, perMinute: 100 }) =>
  createGateway(
    parseConfig({
      providers: { sim: { baseUrl: simulator.url, apiKeyEnv: 'CONSOLE_API_KEY' } },
      routes: {
        a: { targets: [{ provider: 'sim', model: 'a' }] },
        b: { targets: [{ provider: 'sim', model: 'b' }] },
      },
      admin: { keySha256: createHash('sha256').update(ADMIN_KEY).digest('hex') },
      authThrottle,
      journal: { memory: true },
    }),
    { env: { CONSOLE_API_KEY: PROVIDER_KEY }, logger: pino({ level: 'silent' }) },
  );

before(async () => {
  simulator = await startSimulator({ tokenDelayMs: 30 });
  gateway = await startGateway();
  base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await gateway.close();
  await simulator.close();
});

async function login(name = 'Ada') {
  const response = await fetch(`${base}/console/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ name, key: ADMIN_KEY }).toString(),
  });
  const cookie = response.headers.get('set-cookie') ?? '';
  const session = cookie.split(';')[0]!;
  const page = await (await fetch(`${base}/console`, { headers: { cookie: session } })).text();
  const csrf = /name="csrf" content="([^"]+)"/.exec(page)?.[1] ?? '';
  return { response, cookie, session, csrf };
}

const act = (session: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/console/api/actions`, {
    method: 'POST',
    headers: { cookie: session, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
const chat = (model: string, stream = false) =>
  fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }),
  });

describe('the console over HTTP', () => {
  test('login sets an HttpOnly, SameSite=Strict cookie scoped to /console and redirects; the key is nowhere in it', async () => {
    const { response, cookie, csrf } = await login();
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), '/console');
    assert.match(cookie, /^bw_console=[A-Za-z0-9_-]{43}; Path=\/console; HttpOnly; SameSite=Strict$/);
    assert.ok(!cookie.includes(ADMIN_KEY));
    assert.match(csrf, /^[A-Za-z0-9_-]{43}$/);
    const page = await fetch(`${base}/console`);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
  });

  test('wrong keys are throttled per address like the admin API: 401, then 429 + Retry-After', async () => {
    const strict = await startGateway({ burst: 3, perMinute: 1 });
    const address = await strict.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const attempt = (key: string) =>
        fetch(`${address}/console/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ name: 'Mallory', key }).toString(),
        });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await attempt('wrong')).status);
      assert.deepEqual(statuses, [401, 401, 401]);
      // Throttled: even the right key is not checked now.
      const throttled = await attempt(ADMIN_KEY);
      assert.equal(throttled.status, 429);
      assert.ok(Number(throttled.headers.get('retry-after')) > 0);
    } finally {
      await strict.close();
    }
  });

  test('actions need the session, its CSRF token and the console origin; each is journaled with who', async () => {
    const { session, csrf } = await login('Grace');
    const isolate = { subject: 'breaker', key: 'sim:a', action: 'isolate' };
    assert.equal((await act('bw_console=forged', isolate, { 'x-csrf-token': csrf })).status, 401);
    assert.equal((await act(session, isolate)).status, 403, 'no token');
    assert.equal((await act(session, isolate, { 'x-csrf-token': 'x'.repeat(43) })).status, 403, 'wrong token');
    assert.equal((await act(session, isolate, { 'x-csrf-token': csrf, origin: 'http://evil.example' })).status, 403);
    assert.equal((await act(session, isolate, { 'x-csrf-token': csrf, origin: 'null' })).status, 403);
    assert.equal((await act(session, isolate, { 'x-csrf-token': csrf, 'sec-fetch-site': 'same-site' })).status, 403);
    const form = await fetch(`${base}/console/api/actions`, {
      method: 'POST',
      headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': csrf },
      body: 'subject=breaker&key=sim:a&action=isolate',
    });
    assert.equal(form.status, 415, 'only the login takes a form body');
    const byGrace = async () =>
      (await gateway.journal.query({ kind: 'operator.action', limit: 100 })).filter(
        (row) => row.metadata?.['actor'] === 'Grace (127.0.0.1)',
      );
    assert.deepEqual(await byGrace(), [], 'nothing refused was applied');
    const unknown = await act(
      session,
      { subject: 'breaker', key: 'sim:zzz', action: 'reset' },
      { 'x-csrf-token': csrf },
    );
    assert.equal(unknown.status, 404);

    const done = await act(session, isolate, { 'x-csrf-token': csrf });
    assert.equal(done.status, 200);
    assert.equal(((await done.json()) as { state: string }).state, 'isolated');
    await act(session, { ...isolate, action: 'reset' }, { 'x-csrf-token': csrf });
    assert.deepEqual(
      (await byGrace()).map((row) => row.metadata),
      [
        { actor: 'Grace (127.0.0.1)', subject: 'breaker', key: 'sim:a', action: 'reset' },
        { actor: 'Grace (127.0.0.1)', subject: 'breaker', key: 'sim:a', action: 'isolate' },
      ],
    );
  });

  test('a route in maintenance: new requests get 503 + Retry-After, one in flight finishes, other routes serve', async () => {
    const { session, csrf } = await login('Linus');
    const inFlight = await chat('a', true);
    const reader = inFlight.body!.getReader();
    await reader.read();
    assert.equal(
      (await act(session, { subject: 'route', key: 'a', action: 'maintenance' }, { 'x-csrf-token': csrf })).status,
      200,
    );
    const refused = await chat('a');
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '30');
    assert.match(((await refused.json()) as { error: { message: string } }).error.message, /maintenance/);
    assert.equal((await chat('b')).status, 200);
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      rest += new TextDecoder().decode(chunk.value);
    assert.match(rest, /data: \[DONE\]\n\n$/);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /breakwater_gateway_rejections_total\{reason="maintenance"\} [1-9]/);
    await act(session, { subject: 'route', key: 'a', action: 'resume' }, { 'x-csrf-token': csrf });
    assert.equal((await chat('a')).status, 200);
  });

  test('the admin API drains a target too, journaled as the admin API from its address', async () => {
    const drain = await fetch(`${base}/admin/targets/sim:b/drain`, {
      method: 'POST',
      headers: { 'x-admin-key': ADMIN_KEY },
    });
    assert.equal(drain.status, 200);
    assert.equal((await chat('b')).status, 503);
    await fetch(`${base}/admin/targets/sim:b/undrain`, { method: 'POST', headers: { 'x-admin-key': ADMIN_KEY } });
    assert.equal((await chat('b')).status, 200);
    const [last] = await gateway.journal.query({ kind: 'operator.action', limit: 1 });
    assert.deepEqual(last?.metadata, {
      actor: 'admin-api (127.0.0.1)',
      subject: 'target',
      key: 'sim:b',
      action: 'undrain',
    });
  });

  test('logout ends the session and its live stream; no provider or admin key in any console answer', async () => {
    const { session, csrf } = await login('Ada');
    assert.equal((await chat('a')).status, 200);
    const events = await fetch(`${base}/console/events`, { headers: { cookie: session } });
    assert.equal(events.status, 200);
    assert.match(events.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = events.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /^event: state\ndata: \{/);
    const snapshot = await (await fetch(`${base}/console/api/snapshot`, { headers: { cookie: session } })).text();
    const page = await (await fetch(`${base}/console`, { headers: { cookie: session } })).text();
    for (const text of [first, snapshot, page]) {
      assert.ok(!text.includes(PROVIDER_KEY) && !text.includes(ADMIN_KEY));
      assert.ok(!text.includes(simulator.url), 'no upstream URL');
    }
    const out = await fetch(`${base}/console/logout`, {
      method: 'POST',
      headers: { cookie: session, 'x-csrf-token': csrf },
    });
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
    // The stream ends within a tick of its interval.
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read());
    assert.equal((await fetch(`${base}/console/api/snapshot`, { headers: { cookie: session } })).status, 401);
  });
});
