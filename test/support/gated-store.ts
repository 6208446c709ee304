import { MemoryJournalStore, type JournalStore } from 'breakwater';

/** A memory store whose creates land only when the test opens the gate (or fail, if it says so). */
export function gatedStore() {
  const inner = new MemoryJournalStore();
  const calls: string[] = [];
  let open!: () => void;
  let fail!: (error: Error) => void;
  const gate = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  let landed = false;
  const store: JournalStore<undefined> = {
    name: 'gated',
    create: async (row, how) => {
      calls.push(`create deferrable=${how?.deferrable === true}`);
      await gate;
      const created = await inner.create(row);
      landed = true;
      return created;
    },
    transition: (id, guard, to, patch) => {
      calls.push(`transition ${to}`);
      return inner.transition(id, guard, to, patch);
    },
    get: (id) => inner.get(id),
    findByIdempotencyKey: (kind, key) => inner.findByIdempotencyKey(kind, key),
    query: (query) => inner.query(query),
    expiredLeases: (now, limit) => inner.expiredLeases(now, limit),
    close: () => inner.close(),
  };
  return { store, calls, open: () => open(), fail: (error: Error) => fail(error), landed: () => landed };
}
