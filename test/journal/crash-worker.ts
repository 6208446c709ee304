// Child process for crash.test.ts: runs journaled operations with joined writes on a SQLite
// journal until it is killed with SIGKILL. Prints "ready" once work is under way.
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { Journal, runOperation } from 'breakwater';
import { SqliteJournalStore } from 'breakwater/journal-sqlite';

const path = process.argv[2]!;
const db = new BetterSqlite3(path);
db.exec('CREATE TABLE IF NOT EXISTS user_writes (op_id TEXT PRIMARY KEY, value INTEGER NOT NULL)');
const journal = new Journal({ store: new SqliteJournalStore(db), leaseMs: 300, owner: `worker-${process.pid}` });
let done = 0;

async function worker(): Promise<void> {
  for (;;) {
    await runOperation(
      journal,
      'crash',
      async (op) => {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
        if (Math.random() < 0.1) throw Object.assign(new Error('upstream reset'), { code: 'ECONNRESET' });
        return { id: op.operation.id, value: Math.floor(Math.random() * 1000) };
      },
      {
        join: (tx: Database, result) => {
          tx.prepare('INSERT INTO user_writes (op_id, value) VALUES (?, ?)').run(result.id, result.value);
        },
      },
    ).catch(() => undefined);
    if (++done === 20) console.log('ready');
  }
}

await Promise.all(Array.from({ length: 16 }, worker));
