import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import pino from 'pino';
import { SqliteJournalStore } from 'breakwater/journal-sqlite';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { POSTGRES_APPLICATION_NAME } from '../../packages/gateway/src/server/journal-store.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';
import { needService, POSTGRES_URL } from '../support/services.js';
import { eventually, waitFor } from '../support/wait-for.js';

// The journal fails in every way it can while the gateway serves: the process stays up, answers
// already paid for are delivered and recorded once the store is back, and nothing stays running.
let simulator: Simulator;
const dir = mkdtempSync(join(tmpdir(), 'bw-journal-outage-'));
before(async () => {
  simulator = await startSimulator({ tokenDelayMs: 1 });
});
after(async () => {
  await simulator.close();
  rmSync(dir, { recursive: true, force: true });
});

const config = (journal: Record<string, unknown>) =>
  parseConfig({
    providers: { sim: { baseUrl: simulator.url } },
    routes: { m: { targets: [{ provider: 'sim', model: 'x' }], totalTimeoutMs: 5_000 } },
    journal,
  });

async function listen(gateway: Gateway): Promise<string> {
  return gateway.app.listen({ port: 0, host: '127.0.0.1' });
}

const chat = (base: string, correlationId: string, stream = false) =>
  fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': correlationId },
    body: JSON.stringify({ model: 'm', stream, messages: [{ role: 'user', content: 'hi' }] }),
  });

describe('SQLite journal', () => {
  test('terminal writes failing: 100 requests all answered 200, all rows succeeded once the store is back', async () => {
    const file = join(dir, 'terminal.db');
    const gateway = await createGateway(config({ sqlite: file, onUnavailable: 'fail-closed' }), {
      env: {},
      logger: pino({ level: 'silent' }),
    });
    const base = await listen(gateway);
    // A second connection to the same file: a trigger makes every terminal write fail, as a full
    // disk or an I/O error would, while creates still succeed.
    const admin = new BetterSqlite3(file);
    admin.exec(`CREATE TRIGGER fail_terminal BEFORE UPDATE OF status ON breakwater_operations
      WHEN NEW.status IN ('succeeded', 'failed', 'cancelled') BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`);
    try {
      const responses = await Promise.all(
        Array.from({ length: 100 }, (_, i) => chat(base, `terminal-${i}`, i % 2 === 1)),
      );
      const bodies = await Promise.all(responses.map((r) => r.text()));
      assert.deepEqual(
        responses.map((r) => r.status),
        Array(100).fill(200),
      );
      bodies.filter((_, i) => i % 2 === 1).forEach((body) => assert.match(body, /data: \[DONE\]\n\n$/));
      // A stream's terminal write follows its last byte: wait for the hundredth outcome to be kept.
      await waitFor(() => gateway.journal.health().deferred === 100, 'every outcome in the outbox');
      assert.equal(await gateway.journal.sweep(), 0, 'nothing is abandoned while its outcome waits');
      admin.exec('DROP TRIGGER fail_terminal');
      assert.equal(await gateway.journal.flushOutbox(), 100);
      const rows = admin
        .prepare(
          `SELECT status, count(*) AS n FROM breakwater_operations WHERE correlation_id LIKE 'terminal-%' GROUP BY status`,
        )
        .all();
      assert.deepEqual(rows, [{ status: 'succeeded', n: 100 }]);
    } finally {
      admin.close();
      await gateway.close();
    }
  });

  test('a locked database: requests are served within their budget (degrade) and readiness shows the journal', async () => {
    const file = join(dir, 'locked.db');
    const gateway = await createGateway(config({ sqlite: file, writeTimeoutMs: 200 }), {
      env: {},
      logger: pino({ level: 'silent' }),
    });
    const base = await listen(gateway);
    const locker = new BetterSqlite3(file);
    try {
      locker.exec('BEGIN EXCLUSIVE');
      const responses = await Promise.all(Array.from({ length: 5 }, (_, i) => chat(base, `locked-${i}`)));
      assert.deepEqual(
        responses.map((r) => r.status),
        [200, 200, 200, 200, 200],
      );
      const ready = await fetch(`${base}/health/ready`);
      assert.equal(ready.status, 200, 'degrade mode: the journal is not critical');
      const report = (await ready.json()) as { status: string; checks: Record<string, Array<{ status: string }>> };
      assert.equal(report.status, 'warn');
      assert.equal(report.checks['journal:sqlite:responsiveness']?.[0]?.status, 'fail');
      locker.exec('COMMIT');
      const recovered = (await (await fetch(`${base}/health/ready`)).json()) as typeof report;
      assert.equal(recovered.checks['journal:sqlite:responsiveness']?.[0]?.status, 'pass', 'recovery shows at once');
      await waitFor(() => gateway.journal.health().deferred === 5, 'the five outcomes kept');
      assert.equal(await gateway.journal.flushOutbox(), 5);
      const statuses = locker
        .prepare(`SELECT DISTINCT status FROM breakwater_operations WHERE correlation_id LIKE 'locked-%'`)
        .pluck()
        .all();
      assert.deepEqual(statuses, ['succeeded']);
    } finally {
      locker.close();
      await gateway.close();
    }
  });

  test('a full disk (max_page_count reached) is classified and the process keeps serving', async () => {
    const db = new BetterSqlite3(join(dir, 'full.db'));
    const store = new SqliteJournalStore(db, { busyTimeoutMs: 50 });
    const gateway = await createGateway(config({ memory: true }), {
      env: {},
      logger: pino({ level: 'silent' }),
      journalStore: store as never,
    });
    const base = await listen(gateway);
    try {
      const pages = db.pragma('page_count', { simple: true }) as number;
      db.pragma(`max_page_count = ${pages + 2}`);
      const responses = [];
      for (let i = 0; i < 40; i++) responses.push((await chat(base, `full-${i}`)).status);
      assert.deepEqual([...new Set(responses)], [200], 'degrade mode: every request still served');
      const health = gateway.journal.health();
      assert.equal(health.status, 'fail');
      assert.equal(health.lastError?.code, 'SQLITE_OVERLOADED');
      assert.ok(health.deferred > 0, 'outcomes that did not fit wait in the outbox');
      const ready = await fetch(`${base}/health/ready`);
      assert.equal(ready.status, 200, 'degrade: still ready, with a warning');
      assert.match(await ready.text(), /SQLITE_OVERLOADED/);
    } finally {
      await gateway.close().catch(() => undefined);
    }
  });
});

describe('Postgres journal', async () => {
  const skip = await needService('postgres');
  const schema = 'bw_gateway_outage';
  const url = `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  let admin: pg.Client;
  before(async () => {
    if (skip) return;
    admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  });
  after(async () => {
    if (skip) return;
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  test(
    'its connections terminated again and again under load: the process stays up, failures are a classified 503, nothing stays running',
    { skip },
    async () => {
      const gateway = await createGateway(config({ postgres: url, onUnavailable: 'fail-closed' }), {
        env: {},
        logger: pino({ level: 'silent' }),
      });
      const base = await listen(gateway);
      const terminate = () =>
        admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
          POSTGRES_APPLICATION_NAME,
        ]);
      try {
        const outcomes = new Map<string, number>();
        let killed = 0;
        for (let round = 0; round < 8; round++) {
          const load = Array.from({ length: 16 }, (_, i) => chat(base, `pg-${round}-${i}`, i % 4 === 0));
          await new Promise((resolve) => setTimeout(resolve, 5 * round));
          killed += (await terminate()).rowCount ?? 0;
          for (const response of await Promise.all(load)) {
            const body = await response.text();
            const key = response.status === 200 ? '200' : `${response.status} ${JSON.parse(body).error.code}`;
            outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
          }
          // Idle connections die too (an idle-connection reaper, a Postgres restart).
          killed += (await terminate()).rowCount ?? 0;
        }
        assert.ok(killed > 0, 'connections were terminated');
        for (const key of outcomes.keys()) assert.ok(key === '200' || key === '503 JOURNAL_UNAVAILABLE', key);
        // The pool recovers on its own (a request may still draw a connection whose termination it
        // has not noticed yet): within a few requests they are journaled normally again.
        let recovered = 0;
        for (let i = 0; i < 20 && recovered < 5; i++)
          recovered = (await chat(base, `pg-after-${i}`)).status === 200 ? recovered + 1 : 0;
        assert.equal(recovered, 5, 'five requests in a row journaled after the last termination');
        // Answers go out before their terminal writes: let the last ones land, then flush the outbox.
        const running = await eventually(
          async () => {
            await gateway.journal.flushOutbox();
            return (
              await admin.query(
                `SELECT count(*)::int AS n FROM ${schema}.breakwater_operations WHERE status IN ('running', 'pending')`,
              )
            ).rows[0].n as number;
          },
          (n) => n === 0,
          'nothing running after recovery',
        );
        assert.equal(running, 0, 'nothing stays running after recovery');
        const done = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.breakwater_operations`);
        assert.ok(done.rows[0].n >= outcomes.get('200')!, 'every answered request has its row');
      } finally {
        await gateway.close();
      }
    },
  );
});
