// breakwater/journal-sqlite: the embedded journal store (peer: better-sqlite3).
export { SqliteJournalStore, openSqliteJournalStore, type SqliteJournalOptions } from './sqlite-store.js';
export { GroupCommit } from './group-commit.js';
export { Checkpointer, type CheckpointerOptions } from './checkpointer.js';
