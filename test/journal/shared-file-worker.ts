// Child process for sqlite-processes.test.ts: one of several processes sharing one SQLite journal
// file. Runs the same idempotency keys as its siblings, in its own order, with a joined write, and
// prints what it saw as its last line, in JSON: how often its work ran, and the result each key settled on.
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { Journal, isBreakwaterError, runOperation } from 'breakwater';
import { SqliteJournalStore } from 'breakwater/journal-sqlite';

const [path, keysArg, seedArg] = process.argv.slice(2);
const keys = Array.from({ length: Number(keysArg) }, (_, i) => `key-${i}`);
let seed = Number(seedArg);
const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
// Each process walks the keys in its own order, so they collide at different moments.
for (let i = keys.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [keys[i], keys[j]] = [keys[j]!, keys[i]!];
}

const db = new BetterSqlite3(path);
db.exec('CREATE TABLE IF NOT EXISTS user_writes (op_id TEXT PRIMARY KEY, writer INTEGER NOT NULL)');
const store = new SqliteJournalStore(db);
const journal = new Journal({ store, leaseMs: 5_000, owner: `worker-${process.pid}` });
let ran = 0;
const inProgressSeen = { count: 0 };
const results: Record<string, unknown> = {};
const failures: string[] = [];

async function settle(key: string): Promise<void> {
  for (;;) {
    try {
      results[key] = await runOperation(
        journal,
        'shared',
        async (op) => {
          ran++;
          await new Promise((resolve) => setTimeout(resolve, 1 + random() * 4));
          return { id: op.operation.id, by: process.pid };
        },
        {
          idempotencyKey: key,
          join: (tx: Database, result) => {
            tx.prepare('INSERT INTO user_writes (op_id, writer) VALUES (?, ?)').run(result.id, result.by);
          },
        },
      );
      return;
    } catch (error) {
      // Running in a sibling: ask again once it has finished.
      if (isBreakwaterError(error) && error.code === 'OPERATION_IN_PROGRESS') {
        inProgressSeen.count++;
        await new Promise((resolve) => setTimeout(resolve, 2));
        continue;
      }
      failures.push(isBreakwaterError(error) ? `${error.code}: ${error.message}` : String(error));
      return;
    }
  }
}

// Ready once the file is open and migrated; go when the test says so (all processes at once).
console.log('ready');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
const queue = [...keys];
await Promise.all(
  Array.from({ length: 8 }, async () => {
    for (let key = queue.shift(); key !== undefined; key = queue.shift()) await settle(key);
  }),
);
await store.close();
console.log(JSON.stringify({ ran, inProgress: inProgressSeen.count, results, failures }));
