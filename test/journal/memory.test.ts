import { MemoryJournalStore } from 'breakwater';
import { journalContract } from './contract.js';

const values: string[] = [];
journalContract(
  'memory',
  async () => ({
    store: new MemoryJournalStore(),
    transactional: false,
    joinedWrite: (_tx: undefined, value: string) => values.push(value),
    joinedValues: async () => values,
    teardown: async () => {},
  }),
  { breakable: false },
);
