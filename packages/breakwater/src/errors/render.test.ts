import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BreakwaterError } from './breakwater-error.js';
import { Errors } from './codes.js';
import { errorHeaders, toEnvelope, toProblemDetails } from './render.js';
import { validationError } from './validation.js';

describe('rendering', () => {
  test('a 4xx problem carries the safe message, details, code and correlation id', () => {
    const error = validationError([
      { path: 'model', message: 'Required' },
      { path: 'messages.0.role', message: 'Invalid enum value' },
    ]);
    error.correlationId = 'req-1';
    const problem = toProblemDetails(error, { instance: '/v1/chat/completions' });
    assert.equal(problem.status, 422);
    assert.equal(problem.code, 'VALIDATION_INVALID_INPUT');
    assert.equal(problem.type, 'urn:breakwater:error:validation_invalid_input');
    assert.equal(problem.instance, '/v1/chat/completions');
    assert.equal(problem.correlation_id, 'req-1');
    assert.deepEqual((problem.details?.['issues'] as unknown[]).length, 2);
  });

  test('a 5xx never carries the internal message, details or cause', () => {
    const error = new BreakwaterError({
      code: 'POSTGRES_SERVER_ERROR',
      category: 'upstream_server',
      origin: 'dependency',
      message: 'relation "users" at db-prod-7.internal:5432 failed: SELECT * FROM users',
      userMessage: 'db-prod-7.internal broke',
      details: { host: 'db-prod-7.internal' },
      correlationId: 'req-9',
    });
    const problem = JSON.stringify(toProblemDetails(error));
    const envelope = JSON.stringify(toEnvelope(error));
    for (const text of [problem, envelope]) {
      assert.ok(!text.includes('db-prod-7'), text);
      assert.ok(!text.includes('SELECT'), text);
      assert.ok(text.includes('req-9'));
    }
  });

  test('the envelope shape', () => {
    const envelope = toEnvelope(Errors.notFound({ correlationId: 'c1' }));
    assert.equal(envelope.success, false);
    assert.equal(envelope.data, null);
    assert.equal(envelope.error.code, 'RESOURCE_NOT_FOUND');
    assert.equal(envelope.error.correlation_id, 'c1');
    assert.equal(envelope.error.details, null);
    assert.ok(!Number.isNaN(Date.parse(envelope.error.timestamp)));
  });

  test('Retry-After is whole seconds rounded up, only on 429 and 503', () => {
    assert.equal(errorHeaders(Errors.rateLimited({ retryAfterMs: 1001 }))['retry-after'], '2');
    assert.equal(errorHeaders(Errors.circuitOpen({ retryAfterMs: 250 }))['retry-after'], '1');
    assert.equal(errorHeaders(Errors.invalidInput({ retryAfterMs: 5000 }))['retry-after'], undefined);
    assert.equal(toProblemDetails(Errors.rateLimited({ retryAfterMs: 3000 })).retry_after_seconds, 3);
    const quota = new BreakwaterError({
      code: 'LLM_QUOTA_EXCEEDED',
      category: 'quota_exceeded',
      origin: 'dependency',
      retryAfterMs: 1000,
    });
    assert.equal(errorHeaders(quota)['retry-after'], undefined, 'no Retry-After invites retries of an exhausted quota');
  });
});
