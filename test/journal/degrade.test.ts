import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Journal, MemoryJournalStore, runOperation, type BreakwaterError, type JournalStore } from 'breakwater';

/** A store whose every call fails while `down` is set, like a journal disk or database outage. */
function flaky(store: JournalStore<undefined>): JournalStore<undefined> & { down: boolean } {
  const wrapper = { down: false, name: 'flaky' } as JournalStore<undefined> & { down: boolean };
  for (const method of [
    'create',
    'transition',
    'get',
    'findByIdempotencyKey',
    'query',
    'expiredLeases',
    'close',
  ] as const) {
    (wrapper as unknown as Record<string, unknown>)[method] = (...args: unknown[]) =>
      wrapper.down
        ? Promise.reject(Object.assign(new Error('SQLITE_IOERR: disk I/O error'), { code: 'SQLITE_IOERR' }))
        : (store[method] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
  }
  return wrapper;
}

test('fail-closed (default): a down journal stops the work with JOURNAL_UNAVAILABLE', async () => {
  const store = flaky(new MemoryJournalStore());
  const journal = new Journal({ store });
  store.down = true;
  let ran = false;
  await assert.rejects(
    runOperation(journal, 'chat', async () => {
      ran = true;
    }),
    (error: BreakwaterError) => error.code === 'JOURNAL_UNAVAILABLE' && error.status === 503 && error.retryable,
  );
  assert.equal(ran, false);
  assert.equal(journal.health().status, 'fail');
});

test('degrade: the work runs, the outcome waits in the outbox, and is written when the store is back', async () => {
  const store = flaky(new MemoryJournalStore());
  const journal = new Journal({ store });
  store.down = true;
  const value = await runOperation(journal, 'chat', async () => 'answer', {
    onJournalUnavailable: 'degrade',
    correlationId: 'd1',
  });
  assert.equal(value, 'answer');
  await assert.rejects(
    runOperation(
      journal,
      'chat',
      async () => {
        throw Object.assign(new Error('key sk-proj-degradeSECRET12345 rejected'), { status: 401, headers: {} });
      },
      { onJournalUnavailable: 'degrade', correlationId: 'd2' },
    ),
  );
  assert.equal(journal.health().deferred, 2);
  assert.equal(await journal.flushOutbox(), 0, 'still down: nothing written, nothing lost');
  store.down = false;
  assert.equal(await journal.flushOutbox(), 2);
  const [ok] = await journal.query({ correlationId: 'd1' });
  assert.equal(ok?.status, 'succeeded');
  assert.equal(ok?.result, 'answer');
  const [failed] = await journal.query({ correlationId: 'd2' });
  assert.equal(failed?.status, 'failed');
  assert.equal(failed?.errorCode, 'UPSTREAM_AUTH_FAILED');
  assert.ok(!JSON.stringify(failed).includes('degradeSECRET'));
  assert.equal(journal.health().deferred, 0);
});

test('degrade never applies to a call with a joined write (its atomicity needs the store)', async () => {
  const store = flaky(new MemoryJournalStore());
  const journal = new Journal({ store });
  store.down = true;
  await assert.rejects(
    runOperation(journal, 'chat', async () => 1, { onJournalUnavailable: 'degrade', join: () => undefined }),
    (error: BreakwaterError) => error.code === 'JOURNAL_UNAVAILABLE',
  );
});
