import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';
import { finishedElsewhereStore } from '../support/finished-elsewhere-store.js';
import { gatedStore } from '../support/gated-store.js';
import { waitFor } from '../support/wait-for.js';

// In degrade mode (the default) a request's upstream call does not wait for its operation's row to
// be durable: the create shares a later commit with other requests' writes instead of an fsync of
// its own before every call. The outcome is still written, after the create.
let simulator: Simulator;
before(async () => {
  simulator = await startSimulator({ tokenDelayMs: 1 });
});
after(() => simulator.close());

test('degrade mode: answers (JSON and stream) arrive while their creates are still waiting; both rows end succeeded', async () => {
  const gated = gatedStore();
  const config = parseConfig({
    providers: { sim: { baseUrl: simulator.url } },
    routes: { m: { targets: [{ provider: 'sim', model: 'x' }] } },
    journal: { memory: true },
  });
  const gateway = await createGateway(config, {
    env: {},
    logger: pino({ level: 'silent' }),
    journalStore: gated.store,
  });
  const base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  try {
    for (const stream of [false, true]) {
      const response = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `early-${stream}` },
        body: JSON.stringify({ model: 'm', stream, messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(response.status, 200);
      assert.match(await response.text(), stream ? /data: \[DONE\]/ : /"choices"/);
    }
    assert.equal(gated.landed(), false, 'both answers came before any create landed');
    assert.deepEqual(gated.calls, ['create deferrable=true', 'create deferrable=true']);
    gated.open();
    await waitFor(() => gated.calls.filter((c) => c === 'transition succeeded').length === 2, 'both outcomes written');
    const rows = await gateway.journal.query({ limit: 10 });
    assert.deepEqual(rows.map((r) => `${r.correlationId}:${r.status}`).sort(), [
      'early-false:succeeded',
      'early-true:succeeded',
    ]);
  } finally {
    gated.open();
    await gateway.close();
  }
});

test('degrade mode: an outcome the journal refuses after the answer went out is logged; the client keeps its answer', async () => {
  const config = parseConfig({
    providers: { sim: { baseUrl: simulator.url } },
    routes: { m: { targets: [{ provider: 'sim', model: 'x' }] } },
    journal: { memory: true },
  });
  const lines: Array<Record<string, unknown>> = [];
  const gateway = await createGateway(config, {
    env: {},
    logger: pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) }),
    journalStore: finishedElsewhereStore(),
  });
  const base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const response = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'refused-1' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(response.status, 200);
    assert.match(await response.text(), /"choices"/);
    await waitFor(() => lines.some((l) => l['event'] === 'journal_record_failed'), 'the refused record was logged');
    const logged = lines.find((l) => l['event'] === 'journal_record_failed')!;
    assert.equal(logged['correlation_id'], 'refused-1');
    assert.equal((logged['err'] as { code: string }).code, 'JOURNAL_LEASE_LOST');
  } finally {
    await gateway.close();
  }
});
