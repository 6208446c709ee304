import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { RULES } from 'breakwater/rules';
import { conformance, thrownBy } from '../support/conformance.js';

// The real better-sqlite3 against real database files: each SQLite row produced by SQLite itself.
const proof = conformance([RULES.sqlite]);
const dir = mkdtempSync(join(tmpdir(), 'bw-sqlite-conformance-'));
const opened: BetterSqlite3.Database[] = [];
const open = (name: string, options?: BetterSqlite3.Options) => {
  const db = new BetterSqlite3(join(dir, name), options);
  opened.push(db);
  return db;
};
const run = (fn: () => unknown) => thrownBy(async () => fn());

describe('sqlite errors', () => {
  after(() => {
    for (const db of opened) if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a lock held by another connection past busy_timeout', async () => {
    const holder = open('busy.db');
    holder.exec('CREATE TABLE t (x)');
    const other = open('busy.db');
    other.pragma('busy_timeout = 0');
    holder.exec('BEGIN EXCLUSIVE');
    proof.expect(await run(() => other.exec('INSERT INTO t VALUES (1)')), {
      rule: RULES.sqlite.busy,
      code: 'SQLITE_CONFLICT',
      dependency: 'sqlite',
    });
    holder.exec('COMMIT');
  });

  test('max_page_count reached (a full disk)', async () => {
    const db = open('full.db');
    db.exec('CREATE TABLE t (x)');
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    proof.expect(
      await run(() => {
        for (let i = 0; i < 10_000; i++) insert.run('x'.repeat(1000));
      }),
      {
        rule: RULES.sqlite.disk_full,
        code: 'SQLITE_OVERLOADED',
      },
    );
  });

  test('a read-only connection written to', async () => {
    open('ro.db').exec('CREATE TABLE t (x)');
    const readonly = open('ro.db', { readonly: true });
    proof.expect(await run(() => readonly.exec('INSERT INTO t VALUES (1)')), { rule: RULES.sqlite.read_only });
  });

  test('unique and other constraints, a trigger RAISE, bad SQL', async () => {
    const db = open('constraints.db');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, qty INT CHECK (qty >= 0) NOT NULL)');
    db.exec("INSERT INTO t VALUES (1, 'a', 1)");
    proof.expect(await run(() => db.exec("INSERT INTO t VALUES (1, 'b', 1)")), { rule: RULES.sqlite.unique_violation });
    proof.expect(await run(() => db.exec("INSERT INTO t VALUES (2, 'a', 1)")), { rule: RULES.sqlite.unique_violation });
    proof.expect(await run(() => db.exec("INSERT INTO t VALUES (3, 'c', -1)")), {
      rule: RULES.sqlite.constraint_violation,
      category: 'validation',
    });
    db.exec("CREATE TRIGGER no_updates BEFORE UPDATE ON t BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
    proof.expect(await run(() => db.exec('UPDATE t SET qty = 2')), { rule: RULES.sqlite.constraint_violation });
    proof.expect(await run(() => db.exec('SELEC nothing')), { rule: RULES.sqlite.sql_error });
    proof.expect(await run(() => db.prepare('SELECT * FROM missing_table')), { rule: RULES.sqlite.sql_error });
  });

  test('a file that is not a database', async () => {
    writeFileSync(join(dir, 'garbage.db'), 'this is not a database file, '.repeat(200));
    const db = open('garbage.db');
    proof.expect(await run(() => db.pragma('user_version')), { rule: RULES.sqlite.storage_failed });
  });

  test('every SQLite row is proven here', () => proof.assertCovered());
});
