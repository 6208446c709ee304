import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from './load.js';

test('configuration errors name every path and say what to do', () => {
  try {
    parseConfig(
      {
        providers: { openai: { baseUrl: 'not a url', apiKey: 'sk-in-the-file' } },
        routes: { fast: { targets: [{ provider: 'missing', model: 'x' }] } },
        clients: [{ name: 'web', keySha256: 'plain-key' }],
      },
      'breakwater.yaml',
    );
    assert.fail('expected a ConfigError');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    const text = error.message;
    assert.match(text, /breakwater\.yaml/);
    assert.match(text, /providers\.openai\.baseUrl: must be a full URL/);
    assert.match(text, /providers\.openai: unknown key\(s\) "apiKey"/);
    assert.match(text, /clients\.0\.keySha256: must be the hex SHA-256 of the key/);
  }
  assert.throws(
    () =>
      parseConfig({
        providers: { openai: { baseUrl: 'https://api.openai.com/v1' } },
        routes: { fast: { targets: [{ provider: 'missing', model: 'x' }] } },
      }),
    /routes\.fast\.targets\.0\.provider: "missing" is not a provider; define it under providers \(known: openai\)/,
  );
});

test('defaults fill a minimal configuration', () => {
  const config = parseConfig({
    providers: { openai: { baseUrl: 'https://api.openai.com/v1', apiKeyEnv: 'OPENAI_API_KEY' } },
    routes: { fast: { targets: [{ provider: 'openai', model: 'gpt-4o-mini' }] } },
  });
  assert.equal(config.server.port, 8080);
  const slashed = parseConfig({
    providers: { openai: { baseUrl: 'https://api.openai.com/v1/' } },
    routes: { fast: { targets: [{ provider: 'openai', model: 'gpt-4o-mini' }] } },
  });
  assert.equal(slashed.providers['openai']!.baseUrl, 'https://api.openai.com/v1', 'paths are appended as they are');
  assert.equal(config.routes['fast']!.retry.maxAttempts, 3);
  assert.deepEqual(config.journal, {
    sqlite: 'breakwater.db',
    synchronous: 'FULL',
    successCommitDelayMs: 20,
    onUnavailable: 'degrade',
    writeTimeoutMs: 1_000,
    leaseMs: 30_000,
    content: 'none',
    retention: { succeededMs: 86_400_000, failedMs: 14 * 86_400_000, cancelledMs: 14 * 86_400_000 },
  });
  assert.equal(config.server.headersTimeoutMs, 10_000, 'every client-controlled duration has a bound by default');
  assert.equal(config.server.maxInFlight, 512);
  assert.equal(config.providers['openai']!.concurrency.max, 128);
});

test('a journal write must fit inside every route budget', () => {
  assert.throws(
    () =>
      parseConfig({
        providers: { p: { baseUrl: 'http://127.0.0.1:1/v1' } },
        routes: { tight: { targets: [{ provider: 'p', model: 'm' }], totalTimeoutMs: 500 } },
      }),
    /routes\.tight\.totalTimeoutMs: 500 ms leaves no room for a journal write/,
  );
});

test('the journal write of a success may wait for a shared commit, but never as long as a write may take', () => {
  const base = {
    providers: { p: { baseUrl: 'http://127.0.0.1:1/v1' } },
    routes: { r: { targets: [{ provider: 'p', model: 'm' }] } },
  };
  const journal = (extra: Record<string, unknown>) =>
    parseConfig({ ...base, journal: { sqlite: 'j.db', ...extra } }).journal;
  assert.equal((journal({}) as { successCommitDelayMs: number }).successCommitDelayMs, 20);
  assert.equal((journal({ successCommitDelayMs: 0 }) as { successCommitDelayMs: number }).successCommitDelayMs, 0);
  assert.throws(
    () => journal({ successCommitDelayMs: 300, writeTimeoutMs: 300 }),
    /journal\.successCommitDelayMs: successCommitDelayMs must be below writeTimeoutMs/,
  );
});

test('scale-out settings: shared state, workers and route limits are checked', () => {
  const base = {
    providers: { p: { baseUrl: 'http://127.0.0.1:1/v1' } },
    routes: { r: { targets: [{ provider: 'p', model: 'm' }], rateLimit: { perSecond: 100 } } },
  };
  const config = parseConfig({ ...base, server: { workers: 'auto' }, state: { redis: { urlEnv: 'REDIS_URL' } } });
  assert.equal(config.server.workers, 'auto');
  assert.deepEqual(config.state.redis, { urlEnv: 'REDIS_URL', prefix: 'breakwater', timeoutMs: 5 });
  assert.deepEqual(parseConfig(base).state, {}, 'nothing shared by default');
  assert.equal(parseConfig(base).server.workers, 1);
  assert.throws(
    () => parseConfig({ ...base, state: { redis: { url: 'redis://a:6379', urlEnv: 'REDIS_URL' } } }),
    /state\.redis: set exactly one of url and urlEnv/,
  );
  assert.throws(
    () => parseConfig({ ...base, state: { redis: { url: 'http://a:6379' } } }),
    /state\.redis\.url: must start with redis:\/\/ or rediss:\/\//,
  );
  assert.throws(() => parseConfig({ ...base, server: { workers: 0 } }), /server\.workers/);
  assert.throws(
    () => parseConfig({ ...base, routes: { r: { ...base.routes.r, rateLimit: { perSecond: 0 } } } }),
    /routes\.r\.rateLimit\.perSecond/,
  );
});
