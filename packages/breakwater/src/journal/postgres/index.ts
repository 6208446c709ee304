// breakwater/journal-postgres: the journal store for several instances (peer: pg).
export { PostgresJournalStore, type PostgresJournalOptions } from './postgres-store.js';
