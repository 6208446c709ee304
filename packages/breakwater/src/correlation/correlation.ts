import { AsyncLocalStorage } from 'node:async_hooks';
import { headerValue } from '../common/headers.js';
import { uuidv7 } from '../common/uuidv7.js';

export interface RequestScope {
  correlationId: string;
  /** The W3C trace id, when the request carried a traceparent. */
  traceId?: string;
}

const storage = new AsyncLocalStorage<RequestScope>();

/** Runs `fn` with the request's correlation id available to every log line, error and journal row. */
export function runWithCorrelation<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

export function currentCorrelationId(): string | undefined {
  return storage.getStore()?.correlationId;
}

export function currentRequestScope(): RequestScope | undefined {
  return storage.getStore();
}

// A client-supplied id is echoed in headers and logs: only short, plain values are accepted.
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The correlation id of an incoming request: `x-request-id` if it is a plain value, else the
 * trace id of a W3C `traceparent`, else a new UUIDv7. Time-ordered on purpose: the journal indexes
 * rows by correlation id, and ids that arrive in order are appended to that index, where random
 * ones would each land on (and rewrite) a page of their own — a quarter of the journal's SQLite
 * work per operation, measured.
 */
export function requestScopeFrom(headers: unknown): RequestScope {
  const requestId = headerValue(headers, 'x-request-id')?.trim();
  const trace = TRACEPARENT.exec(headerValue(headers, 'traceparent')?.trim().toLowerCase() ?? '');
  const traceId = trace && !/^0+$/.test(trace[1]!) ? trace[1] : undefined;
  const correlationId = requestId && SAFE_ID.test(requestId) ? requestId : (traceId ?? uuidv7());
  return traceId ? { correlationId, traceId } : { correlationId };
}
