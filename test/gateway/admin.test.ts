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
