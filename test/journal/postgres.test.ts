import pg from 'pg';
import { PostgresJournalStore } from 'breakwater/journal-postgres';
import { needService, POSTGRES_URL } from '../support/services.js';
import { journalContract } from './contract.js';

const skip = await needService('postgres');
const suffix = `${process.pid}_${Date.now()}`;
const table = `bw_journal_${suffix}`;
const userTable = `bw_user_writes_${suffix}`;

journalContract(
  'postgres',
  async () => {
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 8 });
    const store = new PostgresJournalStore(pool, { table });
    await store.migrate();
    await pool.query(`CREATE TABLE ${userTable} (value text NOT NULL)`);
    return {
      store,
      transactional: true,
      joinedWrite: (tx: pg.PoolClient, value: string) =>
        tx.query(`INSERT INTO ${userTable} (value) VALUES ($1)`, [value]),
      joinedValues: async () =>
        (await pool.query<{ value: string }>(`SELECT value FROM ${userTable}`)).rows.map((r) => r.value),
      breakStore: async () => void (await pool.query(`ALTER TABLE ${table} RENAME TO ${table}_gone`)),
      teardown: async () => {
        await pool.query(`DROP TABLE IF EXISTS ${table}, ${table}_gone, ${userTable}`);
        await pool.end();
      },
    };
  },
  { skip },
);
