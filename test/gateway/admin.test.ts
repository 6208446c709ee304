import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';

const ADMIN_KEY = 'admin-key-for-tests-123';
const CLIENT_KEY = 'client-key-for-tests-456';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
let simulator: Simulator;
let gateway: Gateway;
let base: string;

before(async () => {
  simulator = await startSimulator();
  gateway = await createGateway(
    parseConfig({
      providers: { sim: { baseUrl: simulator.url } },
      routes: { m: { targets: [{ provider: 'sim', model: 'x' }] } },
      clients: [{ name: 'tests', keySha256: sha(CLIENT_KEY) }],
      admin: { keySha256: sha(ADMIN_KEY) },
      journal: { memory: true },
    }),
    { env: {}, logger: pino({ level: 'silent' }) },
  );
  base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await gateway.close();
  await simulator.close();
});

const chat = (key?: string) =>
  fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
  });

test("client keys are checked against their hashes; a wrong or missing key is a 401 in OpenAI's shape", async () => {
  assert.equal((await chat(CLIENT_KEY)).status, 200);
  const wrong = await chat('nope');
  assert.equal(wrong.status, 401);
  assert.equal(((await wrong.json()) as { error: { code: string } }).error.code, 'AUTH_UNAUTHENTICATED');
  assert.equal((await chat()).status, 401);
});

test('the admin API needs the admin key and lists operations and breaker states', async () => {
  assert.equal((await fetch(`${base}/admin/operations`)).status, 401);
  const ops = (await (
    await fetch(`${base}/admin/operations?status=succeeded`, { headers: { 'x-admin-key': ADMIN_KEY } })
  ).json()) as { data: Array<{ id: string; status: string }> };
  assert.ok(ops.data.length >= 1 && ops.data.every((o) => o.status === 'succeeded'));
  const one = (await (
    await fetch(`${base}/admin/operations/${ops.data[0]!.id}`, { headers: { 'x-admin-key': ADMIN_KEY } })
  ).json()) as { id: string; kind: string };
  assert.equal(one.kind, 'chat.completions');
  const breakers = (await (
    await fetch(`${base}/admin/breakers`, { headers: { 'x-admin-key': ADMIN_KEY } })
  ).json()) as { data: Array<{ key: string; state: string }> };
  assert.deepEqual(
    breakers.data.map((b) => [b.key, b.state]),
    [['sim:x', 'closed']],
  );
  const bad = await fetch(`${base}/admin/operations?limit=99999`, { headers: { 'x-admin-key': ADMIN_KEY } });
  assert.equal(bad.status, 422);
});

test('the admin API finds operations by correlation id and resets or isolates a breaker', async () => {
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${CLIENT_KEY}`,
      'x-request-id': 'find-me-123',
    },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(response.status, 200);
  const admin = { 'x-admin-key': ADMIN_KEY };
  const found = (await (
    await fetch(`${base}/admin/operations?correlationId=find-me-123`, { headers: admin })
  ).json()) as {
    data: Array<{ correlationId: string }>;
  };
  assert.deepEqual(
    found.data.map((o) => o.correlationId),
    ['find-me-123'],
  );
  assert.equal(
    (await fetch(`${base}/admin/operations?correlation=typo`, { headers: admin })).status,
    422,
    'unknown filters are refused, not ignored',
  );

  const isolate = await fetch(`${base}/admin/breakers/sim:x/isolate`, { method: 'POST', headers: admin });
  assert.equal(((await isolate.json()) as { state: string }).state, 'isolated');
  const refused = await chat(CLIENT_KEY);
  assert.equal(refused.status, 503, 'an isolated upstream is not called');
  const reset = await fetch(`${base}/admin/breakers/sim:x/reset`, { method: 'POST', headers: admin });
  assert.equal(((await reset.json()) as { state: string }).state, 'closed');
  assert.equal((await chat(CLIENT_KEY)).status, 200);
  assert.equal((await fetch(`${base}/admin/breakers/nope:x/reset`, { method: 'POST', headers: admin })).status, 404);
  assert.equal((await fetch(`${base}/admin/breakers/sim:x/reset`, { method: 'POST' })).status, 401);
});
