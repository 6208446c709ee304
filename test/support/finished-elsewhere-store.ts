import { MemoryJournalStore, type JournalStore } from 'breakwater';

/**
 * A memory store on which someone else finishes every operation first: a `succeeded` transition
 * finds its guard broken (as when the lease ran out and the sweeper recorded it abandoned).
 */
export function finishedElsewhereStore(): JournalStore<undefined> {
  const inner = new MemoryJournalStore();
  return {
    name: 'finished-elsewhere',
    create: (row) => inner.create(row),
    transition: async (id, guard, to, patch) =>
      to === 'succeeded' ? undefined : inner.transition(id, guard, to, patch),
    get: (id) => inner.get(id),
    findByIdempotencyKey: (kind, key) => inner.findByIdempotencyKey(kind, key),
    query: (query) => inner.query(query),
    expiredLeases: (now, limit) => inner.expiredLeases(now, limit),
    close: () => inner.close(),
  };
}
