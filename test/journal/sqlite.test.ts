import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { SqliteJournalStore } from 'breakwater/journal-sqlite';
import { journalContract } from './contract.js';

const variants = [
  { name: 'group commit', options: {} },
  { name: 'one transaction per write', options: { groupCommit: false } },
  // Every promise still settles after its write is durable: the contract holds with deferral on.
  { name: 'group commit, last writes deferred', options: { successCommitDelayMs: 5 } },
];
for (const { name, options } of variants) {
  journalContract(`sqlite (${name})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bw-journal-'));
    const db = new BetterSqlite3(join(dir, 'journal.db'));
    db.exec('CREATE TABLE user_writes (value TEXT NOT NULL)');
    const store = new SqliteJournalStore(db, options);
    return {
      store,
      transactional: true,
      joinedWrite: (tx: Database, value: string) => tx.prepare('INSERT INTO user_writes (value) VALUES (?)').run(value),
      joinedValues: async () =>
        (db.prepare('SELECT value FROM user_writes').all() as Array<{ value: string }>).map((r) => r.value),
      breakStore: async () => void db.close(),
      teardown: async () => {
        if (db.open) db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}

test('a journal file from v0.1 (no error_origin column) is migrated in place and keeps its rows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bw-journal-old-'));
  try {
    const db = new BetterSqlite3(join(dir, 'old.db'));
    db.exec(`CREATE TABLE breakwater_operations (
      id TEXT PRIMARY KEY, kind TEXT NOT NULL, idempotency_key TEXT,
      status TEXT NOT NULL CHECK (status IN ('pending','running','succeeded','failed','cancelled')),
      attempts INTEGER NOT NULL DEFAULT 0, error_category TEXT, error_code TEXT, error_message TEXT,
      correlation_id TEXT, session_id TEXT, metadata TEXT, result TEXT,
      created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, lease_owner TEXT, lease_expires_at INTEGER)`);
    db.exec(
      `INSERT INTO breakwater_operations (id, kind, status, created_at) VALUES ('old-1', 'chat', 'succeeded', 1)`,
    );
    new SqliteJournalStore(db);
    const columns = (db.prepare('PRAGMA table_info(breakwater_operations)').all() as Array<{ name: string }>).map(
      (c) => c.name,
    );
    assert.ok(columns.includes('error_origin'));
    assert.equal(db.prepare("SELECT status FROM breakwater_operations WHERE id = 'old-1'").pluck().get(), 'succeeded');
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
