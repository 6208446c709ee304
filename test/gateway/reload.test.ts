import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator } from '../../packages/gateway/src/simulator/simulator.js';
import { waitFor } from '../support/wait-for.js';

const configFor = (url: string, alias: string) => ({
  providers: { sim: { baseUrl: url } },
  routes: { [alias]: { targets: [{ provider: 'sim', model: 'x' }] } },
  journal: { memory: true as const },
});
const ask = (base: string, model: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });

test('reload swaps routes without dropping the request in flight', async () => {
  const simulator = await startSimulator({ slowMs: 300 });
  const gateway = await createGateway(parseConfig(configFor(simulator.url, 'old')), {
    env: {},
    logger: pino({ level: 'silent' }),
  });
  const base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  try {
    simulator.script('slow_headers');
    const inFlight = ask(base, 'old');
    // In flight for sure: the upstream has it (a fixed sleep raced the request under load).
    await waitFor(() => simulator.stats().received > 0, 'the request to reach the upstream');
    const warnings = gateway.reload(
      parseConfig({
        ...configFor(simulator.url, 'new'),
        server: { port: 1 },
        state: { redis: { url: 'redis://127.0.0.1:1' } },
      }),
    );
    assert.deepEqual(warnings, [
      'server: listener, limits and timeouts change only on restart',
      'state: the shared state store changes only on restart',
    ]);
    assert.equal((await inFlight).status, 200, 'the request in flight finished on its old route');
    assert.equal((await ask(base, 'new')).status, 200);
    assert.equal((await ask(base, 'old')).status, 404);
  } finally {
    await gateway.close();
    await simulator.close();
  }
});

test('SIGHUP re-reads the config file; a broken file keeps the running config', async () => {
  const simulator = await startSimulator();
  const dir = mkdtempSync(join(tmpdir(), 'bw-reload-'));
  const file = join(dir, 'breakwater.json');
  writeFileSync(file, JSON.stringify(configFor(simulator.url, 'first')));
  const cli = fileURLToPath(new URL('../../packages/gateway/src/cli/main.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--conditions=breakwater-source', '--import', 'tsx', cli, 'serve', '--config', file, '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'silent' } },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const waitFor = async (pattern: RegExp) => {
    for (let i = 0; i < 200 && !pattern.test(out); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.match(out, pattern);
  };
  try {
    await waitFor(/listening on (http:\/\/\S+)/);
    const base = /listening on (http:\/\/\S+)/.exec(out)![1]!;
    writeFileSync(file, JSON.stringify(configFor(simulator.url, 'second')));
    child.kill('SIGHUP');
    await waitFor(/configuration reloaded/);
    assert.equal((await ask(base, 'second')).status, 200);
    writeFileSync(file, '{"providers": {}, "routes": {"x": {"targets": []}}}');
    child.kill('SIGHUP');
    await waitFor(/configuration NOT reloaded: Invalid configuration/);
    assert.equal((await ask(base, 'second')).status, 200, 'still serving the last good config');
  } finally {
    child.kill('SIGTERM');
    await simulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// The headers a target sends (its key among them) are built once per resolved target, not per
// request: a reload resolves new targets, so a rotated key is used from the next request on.
test('a reload picks up a rotated provider key; each request sends its own x-request-id', async () => {
  const simulator = await startSimulator();
  const env: Record<string, string | undefined> = { SIM_KEY: 'sk-old-0123456789abcdef' };
  const config = () =>
    parseConfig({
      providers: { sim: { baseUrl: simulator.url, apiKeyEnv: 'SIM_KEY' } },
      routes: { m: { targets: [{ provider: 'sim', model: 'x' }] } },
      journal: { memory: true },
    });
  const gateway = await createGateway(config(), { env, logger: pino({ level: 'silent' }) });
  const base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  try {
    for (const id of ['rot-1', 'rot-2']) assert.equal((await ask(base, 'm', { 'x-request-id': id })).status, 200);
    env['SIM_KEY'] = 'sk-new-0123456789abcdef';
    gateway.reload(config());
    assert.equal((await ask(base, 'm')).status, 200);
    assert.deepEqual(simulator.stats().authorizations, [
      'Bearer sk-old-0123456789abcdef',
      'Bearer sk-old-0123456789abcdef',
      'Bearer sk-new-0123456789abcdef',
    ]);
    // The per-target headers are shared: each request's own id is added to a copy, never to them.
    assert.deepEqual(simulator.stats().requestIds.slice(0, 2), ['rot-1', 'rot-2']);
  } finally {
    await gateway.close();
    await simulator.close();
  }
});
