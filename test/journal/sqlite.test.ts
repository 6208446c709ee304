import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { SqliteJournalStore } from 'breakwater/journal-sqlite';
import { journalContract } from './contract.js';

for (const groupCommit of [true, false]) {
  journalContract(`sqlite (${groupCommit ? 'group commit' : 'one transaction per write'})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bw-journal-'));
    const db = new BetterSqlite3(join(dir, 'journal.db'));
    db.exec('CREATE TABLE user_writes (value TEXT NOT NULL)');
    const store = new SqliteJournalStore(db, { groupCommit });
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
