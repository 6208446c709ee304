import type { Category } from './categories.js';
import { defineError } from './define-error.js';

/**
 * Built-in codes for errors raised by the caller's request or by breakwater itself.
 * Codes for dependency failures are derived from the classification rules (`dependencyCode`).
 */
export const Errors = {
  invalidInput: defineError({
    code: 'VALIDATION_INVALID_INPUT',
    category: 'validation',
    origin: 'caller',
    status: 422,
    description: 'One or more fields of the request are invalid; `details.issues` lists every one.',
    howToSolve: 'Fix each field named in `details.issues` and send the request again.',
  }),
  malformedBody: defineError({
    code: 'VALIDATION_MALFORMED_BODY',
    category: 'validation',
    origin: 'caller',
    description: 'The request body could not be parsed (malformed JSON or wrong content type).',
    howToSolve: 'Send well-formed JSON with `content-type: application/json`.',
  }),
  unauthenticated: defineError({
    code: 'AUTH_UNAUTHENTICATED',
    category: 'authentication',
    origin: 'caller',
    description: 'The request carries no credentials or invalid ones.',
    howToSolve: 'Send valid credentials.',
  }),
  forbidden: defineError({
    code: 'AUTH_PERMISSION_DENIED',
    category: 'permission',
    origin: 'caller',
    description: 'The credentials are valid but do not allow this action.',
    howToSolve: 'Use credentials that grant this permission.',
  }),
  notFound: defineError({
    code: 'RESOURCE_NOT_FOUND',
    category: 'not_found',
    origin: 'caller',
    description: 'The requested resource or route does not exist.',
    howToSolve: 'Check the path and identifiers.',
  }),
  methodNotAllowed: defineError({
    code: 'RESOURCE_METHOD_NOT_ALLOWED',
    category: 'validation',
    origin: 'caller',
    status: 405,
    description: 'The route exists but not for this HTTP method.',
    howToSolve: 'Use one of the methods listed in the `Allow` header.',
  }),
  conflict: defineError({
    code: 'RESOURCE_CONFLICT',
    category: 'conflict',
    origin: 'caller',
    description: 'The request conflicts with the current state (duplicate key, stale version).',
    howToSolve: 'Reload the resource and retry with current data.',
  }),
  rateLimited: defineError({
    code: 'REQUEST_RATE_LIMITED',
    category: 'rate_limited',
    origin: 'caller',
    description: 'The caller sent more requests than its limit allows.',
    howToSolve: 'Wait for the `Retry-After` delay before sending again.',
  }),
  payloadTooLarge: defineError({
    code: 'VALIDATION_PAYLOAD_TOO_LARGE',
    category: 'validation',
    origin: 'caller',
    status: 413,
    description: 'The request body is larger than the configured limit.',
    howToSolve: 'Send a smaller body.',
  }),
  unsupportedMediaType: defineError({
    code: 'VALIDATION_UNSUPPORTED_MEDIA_TYPE',
    category: 'validation',
    origin: 'caller',
    status: 415,
    description: 'The request body has a content type (or encoding) the endpoint does not accept.',
    howToSolve: 'Send `content-type: application/json`.',
  }),
  cancelled: defineError({
    code: 'REQUEST_CANCELLED',
    category: 'cancelled',
    origin: 'caller',
    description: 'The caller aborted the request (AbortSignal or client disconnect).',
    howToSolve: 'Nothing to do; the work was stopped on purpose.',
  }),
  requestTimeout: defineError({
    code: 'REQUEST_TIMEOUT',
    category: 'timeout',
    origin: 'caller',
    status: 408,
    retryable: false,
    description: "The client did not send the whole request (headers or body) within the server's time limit.",
    howToSolve: 'Send the request at once; check for a slow or stalled client connection.',
  }),
  serviceDraining: defineError({
    code: 'SERVICE_DRAINING',
    category: 'overloaded',
    origin: 'self',
    status: 503,
    description: 'The service is shutting down (or in maintenance) and takes no new requests; those in flight finish.',
    howToSolve: 'Retry after `Retry-After` (another instance will answer).',
  }),
  timeout: defineError({
    code: 'OPERATION_TIMEOUT',
    category: 'timeout',
    origin: 'self',
    description: 'A breakwater timeout policy stopped the operation.',
    howToSolve: 'Raise the timeout or make the dependency faster.',
  }),
  circuitOpen: defineError({
    code: 'CIRCUIT_OPEN',
    category: 'circuit_open',
    origin: 'self',
    description: 'The circuit breaker for this dependency is open; calls fail fast until it half-opens.',
    howToSolve: 'Wait for `retryAfterMs` (the time left in the break); check the dependency.',
  }),
  bulkheadFull: defineError({
    code: 'BULKHEAD_REJECTED',
    category: 'overloaded',
    origin: 'self',
    description: 'The bulkhead is at its concurrency limit and its queue is full (or the queue wait timed out).',
    howToSolve: 'Retry later or raise the bulkhead limits.',
  }),
  allAlternativesDisabled: defineError({
    code: 'ALTERNATIVES_ALL_DISABLED',
    category: 'overloaded',
    origin: 'self',
    status: 503,
    description: 'Every branch of an `alternatives` policy is switched off (drained by an operator).',
    howToSolve: 'Switch a branch back on, or retry after `Retry-After`.',
  }),
  rateLimiterRejected: defineError({
    code: 'RATE_LIMITER_REJECTED',
    category: 'rate_limited',
    origin: 'self',
    description: 'A breakwater rate limiter has no token for this key.',
    howToSolve: 'Wait for `retryAfterMs`, or raise the limiter rate.',
  }),
  operationAbandoned: defineError({
    code: 'OPERATION_ABANDONED',
    category: 'internal',
    origin: 'self',
    description:
      'The worker running the operation stopped renewing its lease (it crashed or was killed); the sweeper marked it failed.',
    howToSolve: 'Run the operation again (with the same idempotency key if it has one); check why the worker died.',
  }),
  operationInProgress: defineError({
    code: 'OPERATION_IN_PROGRESS',
    category: 'conflict',
    origin: 'caller',
    retryable: true,
    description: 'An operation with this idempotency key is already running elsewhere.',
    howToSolve: 'Retry after `retryAfterMs` to get its outcome.',
  }),
  journalIllegalTransition: defineError({
    code: 'JOURNAL_ILLEGAL_TRANSITION',
    category: 'internal',
    origin: 'self',
    description: 'A status change the operation state machine does not allow (e.g. out of a terminal state).',
    howToSolve: 'A bug in the caller of the journal: terminal states are final.',
  }),
  journalLeaseLost: defineError({
    code: 'JOURNAL_LEASE_LOST',
    category: 'conflict',
    origin: 'self',
    description:
      'The operation was finished or taken over by someone else (its lease expired) before this worker could record its outcome.',
    howToSolve: 'Renew leases more often than they expire, or give long operations a longer lease.',
  }),
  journalUnavailable: defineError({
    code: 'JOURNAL_UNAVAILABLE',
    category: 'upstream_server',
    origin: 'dependency',
    status: 503,
    retryable: true,
    description:
      'The operations journal could not be written (its store failed); in fail-closed mode the work was not started.',
    howToSolve: 'Check the journal store (disk, Postgres); or use degrade mode to keep serving and record later.',
  }),
  internal: defineError({
    code: 'INTERNAL_ERROR',
    category: 'internal',
    origin: 'self',
    description: 'An unexpected error in the service itself (a bug or an unclassified failure).',
    howToSolve: 'Search the logs for the correlation id.',
  }),
} as const;

/** The issue part of a dependency error code, by category: `${DOMAIN}_${suffix}`. */
export const DEPENDENCY_CODE_SUFFIX: Readonly<Record<Category, string>> = {
  validation: 'BAD_REQUEST',
  authentication: 'AUTH_FAILED',
  permission: 'PERMISSION_DENIED',
  not_found: 'NOT_FOUND',
  conflict: 'CONFLICT',
  rate_limited: 'RATE_LIMITED',
  quota_exceeded: 'QUOTA_EXCEEDED',
  context_length: 'CONTEXT_LENGTH_EXCEEDED',
  content_filtered: 'CONTENT_FILTERED',
  timeout: 'TIMEOUT',
  network: 'CONNECTION_FAILED',
  overloaded: 'OVERLOADED',
  upstream_server: 'SERVER_ERROR',
  invalid_response: 'INVALID_RESPONSE',
  circuit_open: 'CIRCUIT_OPEN',
  cancelled: 'CANCELLED',
  internal: 'INTERNAL_ERROR',
};

/** Code for a dependency failure: `LLM_RATE_LIMITED`, `REDIS_CONNECTION_FAILED`, `UPSTREAM_AUTH_FAILED`. */
export function dependencyCode(domain: string, category: Category): string {
  return `${domain}_${DEPENDENCY_CODE_SUFFIX[category]}`;
}
