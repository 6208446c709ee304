import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { RULES } from 'breakwater/rules';
import { conformance, thrownBy } from '../support/conformance.js';
import { freePort } from '../support/free-port.js';
import { needService, POSTGRES_URL } from '../support/services.js';

// The real pg client against the real Postgres: each SQLSTATE row produced by the server itself.
const proof = conformance([RULES.pg]);
const skip = await needService('postgres');
const suffix = `${process.pid}_${Date.now()}`;
const table = `bw_conformance_${suffix}`;
const role = `bw_noprivs_${suffix}`;
const limitedRole = `bw_limited_${suffix}`;
const opened: pg.Client[] = [];

async function client(config: pg.ClientConfig = {}): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: POSTGRES_URL, ...config });
  c.on('error', () => {});
  opened.push(c);
  await c.connect();
  return c;
}

describe('postgres errors', { skip }, () => {
  let db: pg.Client;
  before(async () => {
    db = await client();
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text NOT NULL, qty int CHECK (qty >= 0))`);
    await db.query(`INSERT INTO ${table} VALUES (1, 'a', 1), (2, 'b', 1)`);
    await db.query(`CREATE ROLE ${role} LOGIN`);
    await db.query(`CREATE ROLE ${limitedRole} LOGIN CONNECTION LIMIT 1`);
  });
  after(async () => {
    await db.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    for (const c of opened.slice(1)) await c.end().catch(() => {});
    await db.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await db.query(`DROP ROLE IF EXISTS ${limitedRole}`).catch(() => {});
    await db.end();
  });

  test('unique violation is a conflict the caller must resolve, not retried', async () => {
    const error = proof.expect(await thrownBy(() => db.query(`INSERT INTO ${table} VALUES (1, 'dup', 0)`)), {
      rule: RULES.pg.unique_violation,
      code: 'POSTGRES_CONFLICT',
      retryable: false,
    });
    assert.equal(error.details?.['sqlstate'], '23505');
  });

  test('not-null, invalid text and syntax errors are validation', async () => {
    proof.expect(await thrownBy(() => db.query(`INSERT INTO ${table} VALUES (9, NULL, 0)`)), {
      rule: RULES.pg.integrity_violation,
      code: 'POSTGRES_BAD_REQUEST',
    });
    proof.expect(await thrownBy(() => db.query(`SELECT 'abc'::int`)), { rule: RULES.pg.data_exception });
    proof.expect(await thrownBy(() => db.query('SELEC 1')), { rule: RULES.pg.syntax_or_schema });
  });

  test('a serialization failure between two SERIALIZABLE transactions is retryable', async () => {
    const a = await client();
    const b = await client();
    await a.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
    await b.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
    await a.query(`SELECT sum(qty) FROM ${table}`);
    await b.query(`SELECT sum(qty) FROM ${table}`);
    await a.query(`UPDATE ${table} SET qty = qty + 1 WHERE id = 1`);
    await b.query(`UPDATE ${table} SET qty = qty + 1 WHERE id = 2`);
    await a.query('COMMIT');
    const error = await thrownBy(() => b.query('COMMIT'));
    proof.expect(error, { rule: RULES.pg.serialization_failure, code: 'POSTGRES_CONFLICT', retryable: true });
  });

  test('a deadlock is the same retryable conflict', async () => {
    const a = await client();
    const b = await client();
    await a.query('BEGIN');
    await b.query('BEGIN');
    await a.query(`UPDATE ${table} SET qty = qty WHERE id = 1`);
    await b.query(`UPDATE ${table} SET qty = qty WHERE id = 2`);
    const first = a.query(`UPDATE ${table} SET qty = qty WHERE id = 2`).catch((e: unknown) => e);
    const second = b.query(`UPDATE ${table} SET qty = qty WHERE id = 1`).catch((e: unknown) => e);
    const outcomes = await Promise.all([first, second]);
    const deadlock = outcomes.find((o) => (o as { code?: string })?.code === '40P01');
    assert.ok(deadlock, 'one of the two transactions is chosen as the deadlock victim');
    proof.expect(deadlock, { rule: RULES.pg.serialization_failure, retryable: true });
    await Promise.all([a.query('ROLLBACK'), b.query('ROLLBACK')]);
  });

  test('NOWAIT on a locked row is lock_not_available; a failed transaction must roll back', async () => {
    const a = await client();
    const b = await client();
    await a.query('BEGIN');
    await a.query(`SELECT * FROM ${table} WHERE id = 1 FOR UPDATE`);
    await b.query('BEGIN');
    proof.expect(await thrownBy(() => b.query(`SELECT * FROM ${table} WHERE id = 1 FOR UPDATE NOWAIT`)), {
      rule: RULES.pg.lock_not_available,
    });
    proof.expect(await thrownBy(() => b.query('SELECT 1')), {
      rule: RULES.pg.failed_transaction,
      category: 'internal',
    });
    await Promise.all([a.query('ROLLBACK'), b.query('ROLLBACK')]);
  });

  test('statement_timeout cancels the query (57014) and a query_timeout fails in the client', async () => {
    const c = await client();
    await c.query("SET statement_timeout = '50ms'");
    proof.expect(await thrownBy(() => c.query('SELECT pg_sleep(1)')), {
      rule: RULES.pg.query_canceled,
      code: 'POSTGRES_TIMEOUT',
    });
    const impatient = await client({ query_timeout: 50 });
    proof.expect(await thrownBy(() => impatient.query('SELECT pg_sleep(0.5)')), { rule: RULES.pg.client_timeout });
  });

  test('a terminated backend (57P01) and the connection it leaves behind', async () => {
    const victim = await client();
    const pid = (await victim.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const pending = victim.query('SELECT pg_sleep(5)').catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await db.query('SELECT pg_terminate_backend($1)', [pid]);
    proof.expect(await pending, { rule: RULES.pg.admin_shutdown, code: 'POSTGRES_CONNECTION_FAILED', retryable: true });
    proof.expect(await thrownBy(() => victim.query('SELECT 1')), { rule: RULES.pg.client_connection_lost });
  });

  test('insufficient privilege, unknown role and unknown database', async () => {
    const url = new URL(POSTGRES_URL);
    url.username = role;
    const limited = await client({ connectionString: url.toString() });
    proof.expect(await thrownBy(() => limited.query(`SELECT * FROM ${table}`)), {
      rule: RULES.pg.insufficient_privilege,
      code: 'POSTGRES_PERMISSION_DENIED',
    });
    url.username = `bw_nobody_${suffix}`;
    proof.expect(await thrownBy(() => client({ connectionString: url.toString() })), {
      rule: RULES.pg.auth_failed,
      code: 'POSTGRES_AUTH_FAILED',
    });
    const wrongDb = new URL(POSTGRES_URL);
    wrongDb.pathname = `/bw_missing_${suffix}`;
    proof.expect(await thrownBy(() => client({ connectionString: wrongDb.toString() })), {
      rule: RULES.pg.unknown_database,
      code: 'POSTGRES_NOT_FOUND',
    });
  });

  test('a role over its connection limit (53300) is overloaded and retryable', async () => {
    const url = new URL(POSTGRES_URL);
    url.username = limitedRole;
    await client({ connectionString: url.toString() });
    proof.expect(await thrownBy(() => client({ connectionString: url.toString() })), {
      rule: RULES.pg.insufficient_resources,
      code: 'POSTGRES_OVERLOADED',
    });
  });

  test('a pool with no free client times out; a wrong port is a network failure', async () => {
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1, connectionTimeoutMillis: 100 });
    const held = await pool.connect();
    try {
      proof.expect(await thrownBy(() => pool.connect()), { rule: RULES.pg.client_timeout, code: 'POSTGRES_TIMEOUT' });
    } finally {
      held.release();
      await pool.end();
    }
    const url = new URL(POSTGRES_URL);
    url.port = String(await freePort());
    proof.expect(await thrownBy(() => client({ connectionString: url.toString() })), {
      rule: RULES.net.connection_failed,
    });
  });

  test('any other SQLSTATE (a RAISE with a custom code) is a server error', async () => {
    proof.expect(await thrownBy(() => db.query(`DO $$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = 'P0001'; END $$`)), {
      rule: RULES.pg.server_error,
    });
  });

  test('every reproducible postgres row is proven with the real server', () => {
    // disk_full (53100) cannot be produced safely; class 08 is sent by the server only for protocol
    // violations pg never makes (pg's own connection losses are the client_connection_lost row).
    proof.assertCovered([RULES.pg.disk_full, RULES.pg.connection_exception]);
  });
});
