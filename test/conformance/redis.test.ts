import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createClient, WatchError } from 'redis';
import { RULES } from 'breakwater/rules';
import { conformance, thrownBy } from '../support/conformance.js';
import { freePort } from '../support/free-port.js';
import { startPrivateRedis } from '../support/redis-server.js';
import { needService, REDIS_URL } from '../support/services.js';

// Real ioredis and node-redis against the real Redis, plus private servers for replica,
// password, ACL, busy-script and maxmemory cases.
const proof = conformance([RULES.redis]);
const skip = await needService('redis');
const stops: Array<() => void> = [];
const clients: Array<{ disconnect(): unknown }> = [];

const ioredis = (port: number, extra: Record<string, unknown> = {}) => {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
    retryStrategy: () => null,
    ...extra,
  });
  client.on('error', () => {});
  clients.push(client);
  return client;
};
const privateRedis = async (args: string[] = []) => {
  const server = await startPrivateRedis(args);
  stops.push(server.stop);
  return server.port;
};
const sharedPort = Number(new URL(REDIS_URL).port);

after(() => {
  clients.forEach((c) => c.disconnect());
  stops.forEach((stop) => stop());
});

describe('redis errors', { skip }, () => {
  let shared: Redis;
  before(async () => {
    shared = ioredis(sharedPort);
    await shared.connect();
  });

  test('ioredis: a closed port ends in a connection failure', async () => {
    const client = ioredis(await freePort());
    const error = await thrownBy(async () => {
      await client.connect().catch(() => {});
      await client.get('k');
    });
    proof.expect(error, { rule: RULES.redis.connection_lost, code: 'REDIS_CONNECTION_FAILED', dependency: 'redis' });
  });

  test('ioredis: a command past commandTimeout (DEBUG SLEEP) times out', async () => {
    const port = await privateRedis(['--enable-debug-command', 'yes']);
    const client = ioredis(port, { commandTimeout: 100 });
    await client.connect();
    proof.expect(await thrownBy(() => client.call('DEBUG', 'SLEEP', '0.5')), {
      rule: RULES.redis.timeout,
      code: 'REDIS_TIMEOUT',
    });
  });

  test('WRONGTYPE and ERR replies are our command being wrong', async () => {
    await shared.set('bw:conformance:string', 'x');
    const error = proof.expect(await thrownBy(() => shared.lpush('bw:conformance:string', 'y')), {
      rule: RULES.redis.command_error,
      code: 'REDIS_BAD_REQUEST',
    });
    assert.equal(error.details?.['reply'], 'WRONGTYPE');
    proof.expect(await thrownBy(() => shared.call('SET')), { rule: RULES.redis.command_error });
  });

  test('READONLY from a replica and MASTERDOWN from a replica that lost its master', async () => {
    const replica = await privateRedis(['--replicaof', '127.0.0.1', String(sharedPort)]);
    const client = ioredis(replica);
    await client.connect();
    proof.expect(await thrownBy(() => client.set('k', 'v')), {
      rule: RULES.redis.failover,
      code: 'REDIS_CONNECTION_FAILED',
    });
    const orphan = await privateRedis([
      '--replicaof',
      '127.0.0.1',
      String(await freePort()),
      '--replica-serve-stale-data',
      'no',
    ]);
    const orphanClient = ioredis(orphan);
    await orphanClient.connect();
    const error = proof.expect(await thrownBy(() => orphanClient.get('k')), { rule: RULES.redis.failover });
    assert.equal(error.details?.['reply'], 'MASTERDOWN');
  });

  test('CLUSTERDOWN from a cluster node that serves no slots', async () => {
    const port = await privateRedis([
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `/tmp/bw-nodes-${process.pid}-${Date.now()}.conf`,
    ]);
    const client = ioredis(port);
    await client.connect();
    const error = proof.expect(await thrownBy(() => client.get('k')), { rule: RULES.redis.failover });
    assert.equal(error.details?.['reply'], 'CLUSTERDOWN');
  });

  test('NOAUTH and WRONGPASS are authentication; NOPERM is permission', async () => {
    const port = await privateRedis(['--requirepass', 'sekrit-pass-123']);
    // ioredis 6 opens with HELLO; the server's refusal arrives as the client's 'error' event.
    const firstError = (client: Redis) => {
      const event = new Promise<unknown>((resolve) => client.once('error', resolve));
      client.connect().catch(() => {});
      return event;
    };
    proof.expect(await firstError(ioredis(port)), { rule: RULES.redis.auth, code: 'REDIS_AUTH_FAILED' });
    const error = proof.expect(await firstError(ioredis(port, { password: 'not-the-password' })), {
      rule: RULES.redis.auth,
    });
    assert.equal(error.details?.['reply'], 'WRONGPASS');
    assert.ok(!JSON.stringify(error).includes('not-the-password'));
    const admin = ioredis(port, { password: 'sekrit-pass-123' });
    await admin.connect();
    await admin.call('ACL', 'SETUSER', 'reader', 'on', '>reader-pass', '~*', '+get');
    const reader = ioredis(port, { username: 'reader', password: 'reader-pass' });
    await reader.connect();
    proof.expect(await thrownBy(() => reader.set('k', 'v')), {
      rule: RULES.redis.permission,
      code: 'REDIS_PERMISSION_DENIED',
    });
  });

  test('BUSY while a script runs; OOM at maxmemory', async () => {
    const port = await privateRedis(['--busy-reply-threshold', '50']);
    const runner = ioredis(port, { commandTimeout: 5000 });
    const other = ioredis(port);
    await Promise.all([runner.connect(), other.connect()]);
    const spinning = runner.eval('local i = 0 while true do i = i + 1 end', 0).catch(() => {});
    await new Promise((r) => setTimeout(r, 150));
    const error = proof.expect(await thrownBy(() => other.get('k')), {
      rule: RULES.redis.busy,
      code: 'REDIS_OVERLOADED',
    });
    assert.equal(error.details?.['reply'], 'BUSY');
    await other.call('SCRIPT', 'KILL');
    await spinning;

    const small = await privateRedis(['--maxmemory', '1mb', '--maxmemory-policy', 'noeviction']);
    const filler = ioredis(small);
    await filler.connect();
    const oom = await thrownBy(async () => {
      for (let i = 0; i < 100; i++) await filler.set(`k${i}`, 'x'.repeat(100_000));
    });
    proof.expect(oom, { rule: RULES.redis.out_of_memory, code: 'REDIS_OVERLOADED' });
  });

  test('node-redis: WatchError is a retryable conflict; a closed client and an offline one are network', async () => {
    const a = createClient({ url: REDIS_URL });
    const b = createClient({ url: REDIS_URL });
    await Promise.all([a.connect(), b.connect()]);
    try {
      await a.watch('bw:conformance:watched');
      await b.set('bw:conformance:watched', String(Math.random()));
      const error = await thrownBy(() => a.multi().set('bw:conformance:watched', 'mine').exec());
      assert.ok(error instanceof WatchError);
      proof.expect(error, { rule: RULES.redis.watch_conflict, code: 'REDIS_CONFLICT', retryable: true });
    } finally {
      await Promise.all([a.quit(), b.quit()]);
    }
    proof.expect(await thrownBy(() => a.get('k')), { rule: RULES.redis.connection_lost });
  });

  test('node-redis: a connect timeout', async () => {
    const { startUnacceptingListener } = await import('../support/unaccepting-listener.js');
    const listener = await startUnacceptingListener();
    const client = createClient({
      socket: { host: '127.0.0.1', port: listener.port, connectTimeout: 150, reconnectStrategy: false },
    });
    client.on('error', () => {});
    try {
      proof.expect(await thrownBy(() => client.connect()), { rule: RULES.redis.timeout });
    } finally {
      listener.close();
    }
  });

  test('every redis row is proven with a real client', () => proof.assertCovered());
});
