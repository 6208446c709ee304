import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestScopeFrom } from './correlation.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('a request without an id gets a new time-ordered one (UUIDv7), so the journal appends to its index', () => {
  const ids = Array.from({ length: 500 }, () => requestScopeFrom({}).correlationId);
  for (const id of ids) assert.match(id, V7);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids, 'later requests sort after earlier ones');
});

test("the client's own id wins: a plain x-request-id, else a traceparent's trace id; unsafe values are replaced", () => {
  assert.deepEqual(requestScopeFrom({ 'x-request-id': 'req-42' }), { correlationId: 'req-42' });
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  assert.deepEqual(requestScopeFrom({ traceparent: `00-${traceId}-00f067aa0ba902b7-01` }), {
    correlationId: traceId,
    traceId,
  });
  assert.match(requestScopeFrom({ 'x-request-id': 'bad id\r\nx-injected: 1' }).correlationId, V7);
});
