import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import {
  circuitBreaker,
  consecutiveFailures,
  pipeline,
  rateLimiter,
  retryBudget,
  type BreakwaterError,
} from 'breakwater';
import { redisState, type RedisStateStore } from 'breakwater/redis';
import { FakeClock } from 'breakwater/testing';
import { freePort } from '../support/free-port.js';
import { startPrivateRedis } from '../support/redis-server.js';
import { needService, REDIS_URL } from '../support/services.js';
import { waitFor } from '../support/wait-for.js';

// Each "replica" is its own connection and store, as separate processes would be; the real Redis.
const skip = await needService('redis');
const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function connect(url = REDIS_URL): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 50 });
  redis.on('error', () => {});
  cleanups.push(() => redis.disconnect());
  return redis;
}

function replicas(n: number, options: { url?: string; prefix?: string; timeoutMs?: number } = {}): RedisStateStore[] {
  const prefix = options.prefix ?? `bwtest-${randomBytes(4).toString('hex')}`;
  return Array.from({ length: n }, () => {
    const store = redisState({ redis: connect(options.url), prefix, timeoutMs: options.timeoutMs ?? 1_000 });
    cleanups.push(() => store.close());
    return store;
  });
}

const ready = (stores: RedisStateStore[]) =>
  Promise.all(stores.map((s) => waitFor(() => s.health().status === 'pass' && connected(s), 'redis ready')));
const connected = (store: RedisStateStore) => (store as unknown as { redis: Redis }).redis.status === 'ready';

const failing = () => Promise.reject(Object.assign(new Error('upstream down'), { status: 503 }));

describe('Redis-shared state', { skip }, () => {
  test('a breaker opened by one replica rejects on the others without them calling the dependency', async () => {
    const stores = replicas(3);
    await ready(stores);
    const breakers = stores.map((store) =>
      circuitBreaker({ store, name: 'upstreams', strategy: consecutiveFailures(3), breakMs: 60_000 }),
    );
    for (let i = 0; i < 3; i++)
      await pipeline(breakers[0]!)
        .execute(failing, { key: 'openai:gpt' })
        .catch(() => {});
    assert.equal(breakers[0]!.snapshot('openai:gpt').state, 'open');
    await waitFor(() => breakers.every((b) => b.snapshot('openai:gpt').state === 'open'), 'B and C to follow A', 1_000);
    let called = 0;
    const error = (await pipeline(breakers[2]!)
      .execute(() => ++called, { key: 'openai:gpt' })
      .catch((e: unknown) => e)) as BreakwaterError;
    assert.equal(error.category, 'circuit_open');
    assert.equal(called, 0);
    assert.ok(error.retryAfterMs! > 50_000, `the break travels with the state: ${error.retryAfterMs}`);
    // Another key and another breaker name are untouched.
    assert.equal(breakers[1]!.snapshot('anthropic:claude').state, 'closed');

    // A reset anywhere closes it everywhere (an operator on one replica).
    breakers[1]!.reset('openai:gpt');
    await waitFor(() => breakers.every((b) => b.snapshot('openai:gpt').state === 'closed'), 'reset to travel', 1_000);
  });

  test('consecutive faults seen by different replicas count together; a success breaks the run', async () => {
    const stores = replicas(3);
    await ready(stores);
    const breakers = stores.map((store) => circuitBreaker({ store, name: 'u', strategy: consecutiveFailures(3) }));
    const call = (i: number, fn: () => Promise<unknown>) =>
      pipeline(breakers[i]!)
        .execute(fn, { key: 'k' })
        .catch(() => {});
    await call(0, failing);
    await call(1, failing);
    // A success on a replica that had seen a fault: the fleet's run starts again.
    await call(1, async () => 'ok');
    await call(2, failing);
    await call(0, failing);
    assert.ok(
      breakers.every((b) => b.snapshot('k').state === 'closed'),
      'two in a row are not three',
    );
    await call(1, failing);
    await waitFor(() => breakers.every((b) => b.snapshot('k').state === 'open'), 'the third fault, on B, to open all');
  });

  test('a replica that starts late learns the open circuits', async () => {
    const prefix = `bwtest-${randomBytes(4).toString('hex')}`;
    const [first] = replicas(1, { prefix });
    await ready([first!]);
    const a = circuitBreaker({ store: first, name: 'u', strategy: consecutiveFailures(1), breakMs: 60_000 });
    await pipeline(a)
      .execute(failing, { key: 'k' })
      .catch(() => {});
    const [late] = replicas(1, { prefix });
    const b = circuitBreaker({ store: late, name: 'u' });
    await waitFor(() => b.snapshot('k').state === 'open', 'the late replica to read the open circuit', 2_000);
  });

  test('one replica at a time probes a half-open circuit; its answer closes the circuit everywhere', async () => {
    const stores = replicas(3);
    await ready(stores);
    const clocks = stores.map(() => new FakeClock());
    const breakers = stores.map((store, i) =>
      circuitBreaker({ store, name: 'u', strategy: consecutiveFailures(1), breakMs: 5_000, clock: clocks[i] }),
    );
    await pipeline(breakers[0]!)
      .execute(failing, { key: 'k' })
      .catch(() => {});
    await waitFor(() => breakers.every((b) => b.snapshot('k').state === 'open'), 'all open');
    for (const clock of clocks) await clock.tick(5_000);
    let probes = 0;
    let rejected = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const runs = breakers.map((b) =>
      pipeline(b)
        .execute(
          async () => {
            probes++;
            await held;
            return 'ok';
          },
          { key: 'k' },
        )
        .catch((error: BreakwaterError) => {
          assert.equal(error.category, 'circuit_open');
          rejected++;
        }),
    );
    // The two that lost the claim fail fast while the winner's probe is still in flight.
    await waitFor(() => rejected === 2, 'two replicas to be refused the probe');
    assert.equal(probes, 1);
    release();
    await Promise.all(runs);
    await waitFor(() => breakers.every((b) => b.snapshot('k').state === 'closed'), 'the probe to close all');
  });

  test('a rate limit holds across replicas instead of multiplying by their number', async () => {
    const stores = replicas(3);
    await ready(stores);
    const limiters = stores.map((store) => rateLimiter({ store, name: 'route', perSecond: 50, burst: 50 }));
    const started = Date.now();
    let admitted = 0;
    await Promise.all(
      limiters.map(async (limiter) => {
        for (let i = 0; i < 100; i++)
          await pipeline(limiter)
            .execute(() => admitted++, { key: 'chat' })
            .catch((error: BreakwaterError) => assert.equal(error.code, 'RATE_LIMITER_REJECTED'));
      }),
    );
    const refill = Math.ceil(((Date.now() - started) / 1000) * 50);
    // Alone, each would have admitted its own burst of 50: 150.
    assert.ok(admitted >= 50 && admitted <= 50 + refill + 1, `admitted ${admitted}, refill ${refill}`);
  });

  test('retry credit earned on one replica funds retries on another; the budget is one', async () => {
    const stores = replicas(2);
    await ready(stores);
    const [a, b] = stores.map((store) => retryBudget({ store, ratio: 0.5, minPerSecond: 0, maxBalance: 100 }));
    for (let i = 0; i < 10; i++) a!.recordCall();
    await stores[0]!.flush();
    assert.equal(a!.available, 5);
    const granted = [];
    for (let i = 0; i < 7; i++) granted.push(await b!.tryRetry());
    assert.deepEqual(granted, [true, true, true, true, true, false, false]);
    assert.equal(b!.exhaustedCount, 2);
    assert.equal(await a!.tryRetry(), false, 'A sees the budget B spent');
  });

  test('Redis down: decisions fall back to local state, health warns, and shared state resumes when it is back', async () => {
    let server = await startPrivateRedis();
    cleanups.push(() => server.stop());
    const url = `redis://127.0.0.1:${server.port}`;
    const stores = replicas(2, { url, timeoutMs: 50 });
    await ready(stores);
    const breakers = stores.map((store) => circuitBreaker({ store, name: 'u', strategy: consecutiveFailures(2) }));
    const limiter = rateLimiter({ store: stores[0], perSecond: 1, burst: 2 });
    server.stop();
    await waitFor(() => !connected(stores[0]!) && !connected(stores[1]!), 'the clients to see Redis gone');

    // Local decisions, no errors: the limiter still limits, the breaker still opens.
    const outcomes = [];
    for (let i = 0; i < 3; i++)
      outcomes.push(
        await pipeline(limiter)
          .execute(() => 'ok', { key: 'x' })
          .catch((e: BreakwaterError) => e.code),
      );
    assert.deepEqual(outcomes, ['ok', 'ok', 'RATE_LIMITER_REJECTED']);
    for (let i = 0; i < 2; i++)
      await pipeline(breakers[0]!)
        .execute(failing, { key: 'k' })
        .catch(() => {});
    assert.equal(breakers[0]!.snapshot('k').state, 'open');
    assert.equal(breakers[1]!.snapshot('k').state, 'closed', 'nothing crosses while Redis is down');
    const health = stores[0]!.health();
    assert.equal(health.status, 'warn');
    assert.ok(health.fallbacks >= 3, `fallbacks counted: ${health.fallbacks}`);

    // Back on the same port: the transition decided during the outage reaches the other replica.
    server = await startPrivateRedis([], server.port);
    cleanups.push(() => server.stop());
    await waitFor(() => breakers[1]!.snapshot('k').state === 'open', 'the outage-time opening to travel', 10_000);
  });

  test('whenConnected: the first decision after it goes through Redis; a refusing Redis does not hold it', async () => {
    // No wait for the connection here: a store used at once decides locally until it is up.
    const [store] = replicas(1);
    await store!.whenConnected();
    await store!.takeToken('first', { perSecond: 10, burst: 10 });
    assert.equal(store!.health().fallbacks, 0, 'decided by Redis, not locally');
    const [refused] = replicas(1, { url: `redis://127.0.0.1:${await freePort()}` });
    const started = Date.now();
    await refused!.whenConnected(30_000);
    assert.ok(Date.now() - started < 10_000, 'settled by the refusal, not by the bound');
  });

  test('a stall of our own event loop is not a slow Redis: an answer that arrived meanwhile is used', async () => {
    const [store] = replicas(1, { timeoutMs: 5 });
    await ready([store!]);
    // A bucket of one token: Redis's answer (0, then a wait) differs from a fresh local bucket's (0, 0).
    const rate = { perSecond: 0.01, burst: 1 };
    assert.equal(await store!.takeToken('one', rate), 0);
    const before = store!.health().fallbacks;
    const decision = store!.takeToken('one', rate);
    // Busy for 200 ms (a GC pause, a loaded machine): Redis answers within it, the 5 ms bound passes.
    const until = performance.now() + 200;
    while (performance.now() < until);
    assert.ok((await decision) > 0, 'the answer came from Redis: the bucket is empty');
    assert.equal(store!.health().fallbacks, before, 'no fallback counted');
  });

  test('a Redis that stalls costs a bounded wait: the decision is taken locally', async () => {
    const server = await startPrivateRedis();
    cleanups.push(() => server.stop());
    const [store] = replicas(1, { url: `redis://127.0.0.1:${server.port}`, timeoutMs: 20 });
    await ready([store!]);
    const admin = connect(`redis://127.0.0.1:${server.port}`);
    await waitFor(() => admin.status === 'ready', 'admin connection');
    // Every client's commands wait for a second: a Redis that hangs without closing a connection.
    await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
    const before = store!.health().fallbacks;
    const wait = await store!.takeToken('b', { perSecond: 10, burst: 10 });
    assert.equal(wait, 0);
    assert.equal(store!.health().fallbacks, before + 1, 'answered from local state, not by Redis');
    assert.equal(store!.health().status, 'warn');
  });
});

describe('Redis Cluster: every script keeps to one key-slot', { skip }, () => {
  test('breakers, limits and budgets through an ioredis Cluster client, no CROSSSLOT, no fallback', async () => {
    // One node serving all 16,384 slots: Redis still refuses a script whose keys span slots.
    const conf = `/tmp/bw-cluster-${randomBytes(4).toString('hex')}.conf`;
    const server = await startPrivateRedis([
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      conf,
      '--cluster-announce-ip',
      '127.0.0.1',
    ]);
    cleanups.push(
      () => server.stop(),
      () => rmSync(conf, { force: true }),
    );
    const admin = connect(`redis://127.0.0.1:${server.port}`);
    await waitFor(() => admin.status === 'ready', 'admin connection');
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    for (let i = 0; !String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok'); i++) {
      assert.ok(i < 200, 'the one-node cluster never came up');
      await new Promise((r) => setTimeout(r, 25));
    }
    const stores = [0, 1].map(() => {
      const cluster = new Cluster([{ host: '127.0.0.1', port: server.port }], {
        enableOfflineQueue: false,
        redisOptions: { maxRetriesPerRequest: 0 },
      });
      cluster.on('error', () => {});
      cleanups.push(() => cluster.disconnect());
      const store = redisState({ redis: cluster, prefix: 'bwcluster', timeoutMs: 1_000 });
      cleanups.push(() => store.close());
      return { cluster, store };
    });
    await waitFor(() => stores.every((s) => s.cluster.status === 'ready'), 'cluster clients ready');
    const breakers = stores.map(({ store }) =>
      circuitBreaker({ store, name: 'u', strategy: consecutiveFailures(2), breakMs: 1_000 }),
    );
    await pipeline(breakers[0]!)
      .execute(failing, { key: 'k' })
      .catch(() => {});
    await pipeline(breakers[1]!)
      .execute(failing, { key: 'k' })
      .catch(() => {});
    await waitFor(() => breakers.every((b) => b.snapshot('k').state === 'open'), 'fleet count and pub/sub');
    const limiter = rateLimiter({ store: stores[0]!.store, perSecond: 1, burst: 1 });
    assert.equal(await pipeline(limiter).execute(() => 'ok', { key: 'x' }), 'ok');
    const budget = retryBudget({ store: stores[1]!.store, ratio: 1, minPerSecond: 0 });
    budget.recordCall();
    await stores[1]!.store.flush();
    assert.equal(await budget.tryRetry(), true);
    assert.equal(await stores[0]!.store.claimProbe('u', 'k', 1_000), true);
    assert.equal(await stores[1]!.store.claimProbe('u', 'k', 1_000), false);
    for (const { store } of stores) assert.equal(store.health().fallbacks, 0, store.health().lastError);
  });
});
