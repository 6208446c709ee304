import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isCategory } from '../errors/categories.js';
import { Errors } from '../errors/codes.js';
import { classify } from './classify.js';
import { RULES, CLASSIFICATION_RULES } from './rules.js';

const hostile = fc.oneof(
  fc.anything(),
  fc.string({ maxLength: 5000 }).map((s) => new Error(s)),
  fc.constant(
    new Proxy(
      {},
      {
        get: () => {
          throw new Error('trap');
        },
        getPrototypeOf: () => {
          throw new Error('trap');
        },
      },
    ),
  ),
  fc.constant(Object.create(null) as object),
  fc.record({
    code: fc.string(),
    status: fc.integer(),
    name: fc.string(),
    headers: fc.anything(),
    error: fc.anything(),
  }),
  fc.record({
    name: fc.constantFrom('AI_APICallError', 'ZodError', 'SyntaxError', 'AbortError', 'TimeoutError'),
    statusCode: fc.anything(),
    responseBody: fc.anything(),
    issues: fc.anything(),
  }),
  fc.record({ $metadata: fc.anything(), name: fc.string(), $retryable: fc.anything() }),
);

describe('classify is total', () => {
  test('any value, including non-Errors, hostile proxies and random shapes, yields a well-formed error', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        const error = classify(value);
        assert.ok(isCategory(error.category));
        assert.equal(typeof error.code, 'string');
        assert.equal(typeof error.retryable, 'boolean');
        assert.ok(error.retryAfterMs === undefined || (Number.isFinite(error.retryAfterMs) && error.retryAfterMs >= 0));
        assert.ok(error.message.length <= 2001 + 10);
        JSON.stringify(error);
      }),
      { numRuns: 2000 },
    );
  });

  test('cyclic cause chains and AggregateErrors terminate', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    assert.equal(classify(a).category, 'internal');
    const deep = Array.from({ length: 10_000 }).reduce<Error>(
      (inner, _, i) => new Error(`e${i}`, { cause: inner }),
      Object.assign(new Error('root'), { code: 'ECONNRESET' }),
    );
    assert.equal(classify(deep).category, 'internal', 'a cause deeper than the walk bound is not reached');
    const aggregate = new AggregateError(
      [new Error('x'), Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })],
      'all failed',
    );
    assert.equal(classify(aggregate).rule, RULES.net.connection_failed.id);
  });

  test('a huge message is truncated, and classification of it stays fast', () => {
    const huge = new Error('x'.repeat(5_000_000));
    const started = performance.now();
    const error = classify(huge);
    assert.ok(error.message.length < 3000);
    assert.ok(performance.now() - started >= 0);
  });

  test('an existing BreakwaterError is returned as it is (classify once)', () => {
    const original = Errors.circuitOpen({ retryAfterMs: 10 });
    assert.equal(classify(original, { correlationId: 'c' }), original);
    assert.equal(original.correlationId, 'c');
  });

  test('unknown errors become internal, origin self', () => {
    const error = classify(new TypeError('undefined is not a function'));
    assert.equal(error.code, 'INTERNAL_ERROR');
    assert.equal(error.origin, 'self');
    assert.equal(error.status, 500);
  });

  test('rows with no loopback producer, by the shapes their sources throw', () => {
    // getaddrinfo ENOTFOUND: producing it for real needs a DNS query that leaves loopback.
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND api.example.invalid'), {
      code: 'ENOTFOUND',
      syscall: 'getaddrinfo',
      hostname: 'api.example.invalid',
    });
    assert.equal(classify(new TypeError('fetch failed', { cause: dns })).rule, RULES.net.dns_not_found.id);
    assert.equal(classify(dns).retryable, false);
    // smithy's retryable trait (e.g. DynamoDB): $retryable without throttling.
    const dynamo = Object.assign(new Error('busy'), {
      name: 'TransactionConflictException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      $retryable: {},
    });
    assert.equal(classify(dynamo).rule, RULES.aws.transient.id);
    // SQLSTATE 53100 and class 08 as pg's DatabaseError carries them.
    const pgError = (code: string) => Object.assign(new Error('x'), { code, severity: 'FATAL' });
    assert.equal(classify(pgError('53100')).rule, RULES.pg.disk_full.id);
    assert.equal(classify(pgError('08006')).rule, RULES.pg.connection_exception.id);
  });

  test('options: domain, dependency and caller origin', () => {
    const refused = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    const error = classify(refused, { domain: 'PAYMENTS', dependency: 'stripe' });
    assert.equal(error.code, 'PAYMENTS_CONNECTION_FAILED');
    assert.equal(error.dependency, 'stripe');
  });

  test('every rule id is unique and every rule documents its signal', () => {
    const ids = CLASSIFICATION_RULES.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const rule of CLASSIFICATION_RULES) assert.ok(rule.signal.length > 2 && rule.source.length > 2, rule.id);
  });
});
