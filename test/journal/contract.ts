import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BreakwaterError, Journal, runOperation, type JournalStore } from 'breakwater';

export interface ContractFixture<Tx> {
  store: JournalStore<Tx>;
  /** The caller's own write, done through the store's transaction handle. */
  joinedWrite(tx: Tx, value: string): unknown;
  joinedValues(): Promise<string[]>;
  /** False for the memory store, which has no transactions to roll back. */
  transactional: boolean;
  /** Makes the store fail (closed file, dropped table) to check JOURNAL_UNAVAILABLE. */
  breakStore?(): Promise<void>;
  teardown(): Promise<void>;
}

const SECRET = 'sk-proj-contractSECRET0123456789';

/** One contract, every store: the same behaviour on memory, SQLite and Postgres. */
export function journalContract<Tx>(
  name: string,
  make: () => Promise<ContractFixture<Tx>>,
  { skip = false, breakable = true }: { skip?: string | false; breakable?: boolean } = {},
): void {
  describe(`journal contract: ${name}`, { skip }, () => {
    let fixture: ContractFixture<Tx>;
    let clockMs = 1_800_000_000_000;
    let journal: Journal<Tx>;
    const now = () => clockMs;

    before(async () => {
      fixture = await make();
      journal = new Journal({ store: fixture.store, leaseMs: 1_000, owner: 'worker-a', now });
    });
    after(() => fixture?.teardown());

    test('create is idempotent per kind and key; ids sort by creation', async () => {
      const a = await journal.create({
        kind: 'chat',
        idempotencyKey: 'k1',
        correlationId: 'c1',
        metadata: { model: 'x' },
      });
      assert.equal(a.created, true);
      assert.equal(a.operation.status, 'pending');
      assert.deepEqual(a.operation.metadata, { model: 'x' });
      const again = await journal.create({ kind: 'chat', idempotencyKey: 'k1' });
      assert.equal(again.created, false);
      assert.equal(again.operation.id, a.operation.id);
      const other = await journal.create({ kind: 'embed', idempotencyKey: 'k1' });
      assert.notEqual(other.operation.id, a.operation.id, 'keys are per kind');
      clockMs += 1;
      const later = await journal.create({ kind: 'chat' });
      assert.ok(later.operation.id > a.operation.id);
    });

    test('claim, renew and finish are compare-and-set; terminal states are final', async () => {
      const { operation } = await journal.create({ kind: 'task' });
      const claimed = await journal.claim(operation.id);
      assert.equal(claimed?.status, 'running');
      assert.equal(claimed?.leaseOwner, 'worker-a');
      assert.equal(claimed?.leaseExpiresAt, clockMs + 1_000);
      assert.equal(await journal.claim(operation.id), undefined, 'a second claim loses');
      const other = new Journal({ store: fixture.store, leaseMs: 1_000, owner: 'worker-b', now });
      assert.equal(await other.renew(operation.id), false, 'only the lease owner renews');
      assert.equal(await journal.renew(operation.id), true);
      const done = await journal.succeed(operation.id, { answer: 42 }, 2);
      assert.equal(done?.status, 'succeeded');
      assert.deepEqual(done?.result, { answer: 42 });
      assert.equal(done?.attempts, 2);
      assert.equal(await journal.succeed(operation.id, 'again', 1), undefined, 'a terminal state is written once');
      await assert.rejects(
        journal.transition(operation.id, { from: ['succeeded'] }, 'running', {}),
        (error: BreakwaterError) => error.code === 'JOURNAL_ILLEGAL_TRANSITION',
      );
      assert.equal((await journal.get(operation.id))?.status, 'succeeded');
    });

    test("createClaimed inserts the operation already running under this worker's lease, in one write", async () => {
      const { operation, created } = await journal.createClaimed({ kind: 'claimed', idempotencyKey: 'c1' });
      assert.equal(created, true);
      assert.equal(operation.status, 'running');
      assert.equal(operation.attempts, 1);
      assert.equal(operation.leaseOwner, 'worker-a');
      assert.equal(operation.leaseExpiresAt, clockMs + 1_000);
      assert.equal(operation.startedAt, clockMs);
      const again = await journal.createClaimed({ kind: 'claimed', idempotencyKey: 'c1' });
      assert.equal(again.created, false);
      assert.equal(again.operation.id, operation.id);
      assert.equal((await journal.succeed(operation.id, 'done', 1))?.status, 'succeeded');
    });

    test("a row read back is the caller's own copy: changing it changes nothing stored", async () => {
      const { operation } = await journal.createClaimed({ kind: 'copy', metadata: { model: 'x', tags: ['a'] } });
      const result = JSON.parse('{"answer":{"parts":[1,2]},"__proto__":{"kept":true}}') as Record<string, unknown>;
      const done = await journal.succeed(operation.id, result, 1);
      (done!.metadata as { tags: string[] }).tags.push('changed');
      ((done!.result as { answer: { parts: number[] } }).answer.parts as number[]).push(3);
      operation.metadata!['model'] = 'changed';
      const read = await journal.get(operation.id);
      assert.deepEqual(read!.metadata, { model: 'x', tags: ['a'] });
      assert.deepEqual((read!.result as { answer: unknown }).answer, { parts: [1, 2] });
      // An own `__proto__` key (as JSON.parse makes it) is data, kept as data.
      assert.ok(Object.hasOwn(read!.result as object, '__proto__'));
      assert.equal(Object.getPrototypeOf(read!.result), Object.prototype);
    });

    test('many workers racing to finish one operation: exactly one terminal write', async () => {
      const { operation } = await journal.create({ kind: 'race' });
      await journal.claim(operation.id);
      const error = new BreakwaterError({ code: 'T_X', category: 'timeout', origin: 'dependency' });
      const outcomes = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          i % 2 ? journal.succeed(operation.id, i, 1) : journal.fail(operation.id, error, 1),
        ),
      );
      assert.equal(outcomes.filter((o) => o !== undefined).length, 1);
      const row = await journal.get(operation.id);
      assert.ok(row && (row.status === 'succeeded' || row.status === 'failed'));
    });

    test("markSucceeded / markFailed answer whether the write applied (one winner of a race), with or without the store's `apply`", async () => {
      // The same journal over a store that lacks the optional `apply`: it falls back to `transition`.
      const { apply: _unused, ...withoutApply } = bindAll(fixture.store);
      for (const store of [fixture.store, withoutApply]) {
        const marking = new Journal({ store, leaseMs: 1_000, owner: 'worker-a', now });
        const { operation } = await marking.createClaimed({ kind: 'mark' });
        const error = new BreakwaterError({ code: 'T_X', category: 'timeout', origin: 'dependency', message: SECRET });
        const outcomes = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            i % 2 ? marking.markSucceeded(operation.id, { i }, 2) : marking.markFailed(operation.id, error, 2),
          ),
        );
        assert.equal(outcomes.filter(Boolean).length, 1, 'exactly one terminal write applied');
        const row = (await marking.get(operation.id))!;
        assert.equal(row.attempts, 2);
        assert.equal(row.leaseOwner, null);
        if (row.status === 'failed') assert.equal(row.errorMessage?.includes(SECRET), false, 'the message is redacted');
        else assert.equal(row.status, 'succeeded');
        const other = new Journal({ store, leaseMs: 1_000, owner: 'worker-b', now });
        const { operation: theirs } = await other.createClaimed({ kind: 'mark' });
        let joined = false;
        const mine = await marking.markSucceeded(theirs.id, 'x', 1, () => (joined = true));
        assert.equal(mine, false, "another worker's lease is not ours to finish");
        assert.equal(joined, false, 'no joined write runs for a transition that did not apply');
        assert.equal((await other.get(theirs.id))?.status, 'running');
      }
    });

    test('the sweeper fails expired leases with OPERATION_ABANDONED and spares renewed ones', async () => {
      const stale = (await journal.create({ kind: 'sweep' })).operation;
      const live = (await journal.create({ kind: 'sweep' })).operation;
      await journal.claim(stale.id);
      await journal.claim(live.id);
      clockMs += 900;
      await journal.renew(live.id);
      clockMs += 200;
      assert.ok((await journal.sweep()) >= 1);
      const swept = await journal.get(stale.id);
      assert.equal(swept?.status, 'failed');
      assert.equal(swept?.errorCode, 'OPERATION_ABANDONED');
      assert.equal(swept?.leaseOwner, null);
      assert.equal((await journal.get(live.id))?.status, 'running');
      assert.equal(await journal.succeed(stale.id, 1, 1), undefined, 'the dead worker cannot finish it afterwards');
      await journal.succeed(live.id, 1, 1);
    });

    test('a replay returns the recorded result whole, as JSON, with its secrets redacted', async () => {
      // Twelve levels: deeper than anything a redaction bound would cut, as a tool's arguments can be.
      let deep: Record<string, unknown> = { leaf: 'bottom', apiKey: 'not-for-the-journal' };
      for (let level = 0; level < 12; level++) deep = { level, child: deep };
      const result = { deep, at: new Date(0), skipped: undefined, note: `key ${SECRET}` };
      await runOperation(journal, 'deep', async () => result, { idempotencyKey: 'deep-1' });
      const replayed: unknown = await runOperation(journal, 'deep', async () => 'ran again', {
        idempotencyKey: 'deep-1',
      });
      const expected = JSON.parse(JSON.stringify(result).replace('not-for-the-journal', '[REDACTED]')) as {
        note: string;
      };
      expected.note = expected.note.replace(SECRET, '[REDACTED]');
      assert.deepEqual(replayed, expected);
    });

    test('runOperation records success, failures (redacted), and replays by idempotency key', async () => {
      let runs = 0;
      const value = await runOperation(
        journal,
        'chat',
        async () => {
          runs++;
          return { text: 'hello' };
        },
        { idempotencyKey: 'req-1', correlationId: 'corr-1' },
      );
      assert.deepEqual(value, { text: 'hello' });
      const replayed = await runOperation(
        journal,
        'chat',
        async () => {
          runs++;
          return { text: 'other' };
        },
        { idempotencyKey: 'req-1' },
      );
      assert.deepEqual(replayed, { text: 'hello' }, 'the recorded result, not a second run');
      assert.equal(runs, 1);

      const failing = runOperation(
        journal,
        'chat',
        async (op) => {
          op.partial = { text: 'half an ans' };
          throw Object.assign(new Error(`upstream rejected key ${SECRET}`), { status: 500, headers: {} });
        },
        { idempotencyKey: 'req-2', correlationId: 'corr-2' },
      );
      await assert.rejects(failing, (error: BreakwaterError) => error.code === 'UPSTREAM_SERVER_ERROR');
      const [row] = await journal.query({ correlationId: 'corr-2' });
      assert.equal(row?.status, 'failed');
      assert.equal(row?.errorCategory, 'upstream_server');
      assert.deepEqual(row?.result, { text: 'half an ans' }, 'partial output kept');
      assert.ok(!JSON.stringify(row).includes(SECRET), 'no secret in the journal row');
      await assert.rejects(
        runOperation(journal, 'chat', async () => 'x', { idempotencyKey: 'req-2' }),
        (error: BreakwaterError) => error.code === 'UPSTREAM_SERVER_ERROR',
      );
    });

    test("a replay renders the recorded error as it was: an upstream's 401 stays our 502 (issue-11 regression)", async () => {
      const upstream401 = () => Object.assign(new Error('invalid x-api-key'), { status: 401, headers: {} });
      const first = await runOperation(journal, 'chat', async () => Promise.reject(upstream401()), {
        idempotencyKey: 'req-origin',
      }).catch((e: BreakwaterError) => e);
      const replayed = await runOperation(journal, 'chat', async () => 'never runs', {
        idempotencyKey: 'req-origin',
      }).catch((e: BreakwaterError) => e);
      assert.equal((first as BreakwaterError).status, 502);
      assert.equal((replayed as BreakwaterError).code, (first as BreakwaterError).code);
      assert.equal((replayed as BreakwaterError).origin, 'dependency');
      assert.equal((replayed as BreakwaterError).status, 502, 'not a 401 telling the caller to log in');
    });

    test('an operation running elsewhere answers OPERATION_IN_PROGRESS with the lease time left', async () => {
      const other = new Journal({ store: fixture.store, leaseMs: 1_000, owner: 'worker-b', now });
      const { operation } = await other.create({ kind: 'busy', idempotencyKey: 'b1' });
      await other.claim(operation.id);
      clockMs += 300;
      await assert.rejects(
        runOperation(journal, 'busy', async () => 'x', { idempotencyKey: 'b1' }),
        (error: BreakwaterError) => error.code === 'OPERATION_IN_PROGRESS' && error.retryAfterMs === 700,
      );
    });

    // The caller cancels through its signal, or through the controller the operation adopted.
    for (const shape of ['signal', 'controller'] as const) {
      test(`cancellation is recorded as cancelled (the caller's ${shape})`, async () => {
        const controller = new AbortController();
        const correlationId = `corr-cancel-${shape}`;
        const run = runOperation(
          journal,
          'cancel',
          (op) =>
            new Promise((_, reject) => {
              if (op.signal.aborted) reject(op.signal.reason);
              op.signal.addEventListener('abort', () => reject(op.signal.reason));
            }),
          shape === 'signal' ? { signal: controller.signal, correlationId } : { controller, correlationId },
        );
        setImmediate(() => controller.abort());
        await assert.rejects(run, (error: BreakwaterError) => error.category === 'cancelled');
        const [row] = await journal.query({ correlationId });
        assert.equal(row?.status, 'cancelled');
      });
    }

    test("the caller's joined write commits with the success, and a failing one rolls back with it", async () => {
      await runOperation(journal, 'joined', async () => 'a', {
        join: (tx, result) => fixture.joinedWrite(tx, `ok:${result}`),
        correlationId: 'j1',
      });
      assert.ok((await fixture.joinedValues()).includes('ok:a'));
      assert.equal((await journal.query({ correlationId: 'j1' }))[0]?.status, 'succeeded');
      const failing = runOperation(journal, 'joined', async () => 'b', {
        correlationId: 'j2',
        join: (tx) => {
          void fixture.joinedWrite(tx, 'partial:b');
          throw new Error("constraint failed in the caller's write");
        },
      });
      await assert.rejects(failing);
      const [row] = await journal.query({ correlationId: 'j2' });
      assert.equal(row?.status, 'failed', 'the operation is failed, not succeeded');
      if (fixture.transactional)
        assert.ok(!(await fixture.joinedValues()).includes('partial:b'), 'the joined write was rolled back');
    });

    test('queries: by status, kind, correlation id, recent failures', async () => {
      const failed = await journal.query({ status: 'failed', limit: 500 });
      assert.ok(failed.length >= 2 && failed.every((o) => o.status === 'failed'));
      assert.ok((await journal.query({ kind: 'chat' })).every((o) => o.kind === 'chat'));
      assert.equal((await journal.query({ correlationId: 'corr-1' })).length, 1);
      assert.ok((await journal.recentFailures(5)).length >= 1);
      assert.equal((await journal.query({ status: 'running', limit: 500 })).filter((o) => o.kind === 'chat').length, 0);
    });

    test('retention: finished rows past their TTL are pruned in batches, others stay, running ones are never touched', async () => {
      // Its own clock and kind: the rows above keep their meaning for the tests that follow.
      let t = 1_900_000_000_000; // after every other row of the contract (those are old too: pruned alike)
      const retained = new Journal({
        store: fixture.store,
        leaseMs: 60_000,
        owner: 'worker-retention',
        now: () => t,
        retention: { succeeded: 1_000, failed: 5_000 },
      });
      const finish = async (i: number, ok: boolean) =>
        runOperation(retained, 'retention', async () => (ok ? i : Promise.reject(new Error('x'))), {
          correlationId: `ret-${i}`,
        }).catch(() => undefined);
      for (let i = 0; i < 6; i++) await finish(i, i % 2 === 0); // 3 succeeded, 3 failed at t0
      const running = await retained.createClaimed({ kind: 'retention', correlationId: 'ret-running' });
      t += 2_000; // past the succeeded TTL, not the failed one
      for (let i = 6; i < 8; i++) await finish(i, true); // 2 fresh successes
      assert.ok((await retained.prune(2)) >= 3, 'the three old successes (and older rows), in batches of two');
      const left = await retained.query({ kind: 'retention', limit: 100 });
      assert.deepEqual(left.map((o) => o.correlationId).sort(), [
        'ret-1',
        'ret-3',
        'ret-5',
        'ret-6',
        'ret-7',
        'ret-running',
      ]);
      t += 10_000;
      await retained.prune();
      assert.deepEqual(
        (await retained.query({ kind: 'retention', limit: 100 })).map((o) => o.correlationId),
        ['ret-running'],
        'the running operation is never pruned, whatever its age',
      );
      assert.equal((await retained.get(running.operation.id))?.status, 'running');
    });

    if (breakable) {
      test('a failing store is classified as JOURNAL_UNAVAILABLE and shows in health', async () => {
        assert.ok(fixture.breakStore, 'a breakable store fixture says how to break it');
        await fixture.breakStore();
        await assert.rejects(
          journal.create({ kind: 'x' }),
          (error: BreakwaterError) => error.code === 'JOURNAL_UNAVAILABLE' && error.status === 503,
        );
        assert.equal(journal.health().status, 'fail');
      });
    }
  });
}

/** The store's methods bound to it, as own properties (to hand the journal a copy missing one). */
function bindAll<Tx>(store: JournalStore<Tx>): JournalStore<Tx> {
  const bound: Record<string, unknown> = { name: store.name };
  for (let proto = store as object; proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object)
    for (const key of Object.getOwnPropertyNames(proto)) {
      const value = (store as unknown as Record<string, unknown>)[key];
      if (typeof value === 'function' && key !== 'constructor' && !(key in bound))
        bound[key] = (value as (...args: unknown[]) => unknown).bind(store);
    }
  return bound as unknown as JournalStore<Tx>;
}
