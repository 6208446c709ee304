/**
 * Stores wrap a throw from the caller's joined write in this, so the journal can tell it from a
 * store failure: the caller's error passes through as it is, the store's becomes JOURNAL_UNAVAILABLE.
 */
export class JoinedWriteError extends Error {
  constructor(cause: unknown) {
    super('The joined write failed; the transaction was rolled back.', { cause });
  }
}
