/**
 * The closed set of error categories and the one table that drives every decision downstream:
 * client status, default retry, whether a failure counts against a circuit breaker, log level.
 * Nothing else in breakwater decides from message strings; everything reads this table.
 */

export const CATEGORIES = [
  'validation',
  'authentication',
  'permission',
  'not_found',
  'conflict',
  'rate_limited',
  'quota_exceeded',
  'context_length',
  'content_filtered',
  'timeout',
  'network',
  'overloaded',
  'upstream_server',
  'invalid_response',
  'circuit_open',
  'cancelled',
  'internal',
] as const;

export type Category = (typeof CATEGORIES)[number];

export type LogLevel = 'info' | 'warn' | 'error';

export interface CategoryPolicy {
  /** HTTP status a client sees when the error is the caller's own (or ours). */
  readonly status: number;
  /** Retried by default. `conflict` is retried only where the source says so (see classifiers). */
  readonly retryable: boolean;
  /** Counts as a dependency fault for circuit breakers. */
  readonly breakerFault: boolean;
  readonly logLevel: LogLevel;
  /** Safe message for clients; never carries internals. */
  readonly userMessage: string;
  /** Short human title (RFC 9457 `title`). */
  readonly title: string;
}

export const CATEGORY_TABLE: Readonly<Record<Category, CategoryPolicy>> = {
  validation: {
    status: 400,
    retryable: false,
    breakerFault: false,
    logLevel: 'info',
    title: 'Invalid request',
    userMessage: 'The request is invalid.',
  },
  authentication: {
    status: 401,
    retryable: false,
    breakerFault: false,
    logLevel: 'warn',
    title: 'Authentication required',
    userMessage: 'Authentication is required or the credentials are invalid.',
  },
  permission: {
    status: 403,
    retryable: false,
    breakerFault: false,
    logLevel: 'warn',
    title: 'Permission denied',
    userMessage: 'You do not have permission to perform this action.',
  },
  not_found: {
    status: 404,
    retryable: false,
    breakerFault: false,
    logLevel: 'info',
    title: 'Not found',
    userMessage: 'The requested resource was not found.',
  },
  conflict: {
    status: 409,
    retryable: false,
    breakerFault: false,
    logLevel: 'warn',
    title: 'Conflict',
    userMessage: 'The request conflicts with the current state of the resource.',
  },
  rate_limited: {
    status: 429,
    retryable: true,
    breakerFault: false,
    logLevel: 'warn',
    title: 'Too many requests',
    userMessage: 'Too many requests. Retry after the indicated delay.',
  },
  quota_exceeded: {
    status: 429,
    retryable: false,
    breakerFault: false,
    logLevel: 'error',
    title: 'Quota exceeded',
    userMessage: 'The usage quota has been exhausted.',
  },
  context_length: {
    status: 400,
    retryable: false,
    breakerFault: false,
    logLevel: 'info',
    title: 'Input too long',
    userMessage: 'The input is longer than the model can accept.',
  },
  content_filtered: {
    status: 422,
    retryable: false,
    breakerFault: false,
    logLevel: 'info',
    title: 'Content filtered',
    userMessage: 'The content was rejected by a content policy.',
  },
  timeout: {
    status: 504,
    retryable: true,
    breakerFault: true,
    logLevel: 'warn',
    title: 'Timed out',
    userMessage: 'A dependency did not answer in time.',
  },
  network: {
    status: 503,
    retryable: true,
    breakerFault: true,
    logLevel: 'warn',
    title: 'Dependency unreachable',
    userMessage: 'A dependency could not be reached.',
  },
  overloaded: {
    status: 503,
    retryable: true,
    breakerFault: true,
    logLevel: 'warn',
    title: 'Service overloaded',
    userMessage: 'The service is overloaded. Retry later.',
  },
  upstream_server: {
    status: 502,
    retryable: true,
    breakerFault: true,
    logLevel: 'warn',
    title: 'Upstream error',
    userMessage: 'A dependency failed.',
  },
  invalid_response: {
    status: 502,
    retryable: true,
    breakerFault: true,
    logLevel: 'error',
    title: 'Invalid upstream response',
    userMessage: 'A dependency returned an invalid response.',
  },
  circuit_open: {
    status: 503,
    retryable: false,
    breakerFault: false,
    logLevel: 'warn',
    title: 'Circuit open',
    userMessage: 'A dependency is temporarily unavailable. Retry later.',
  },
  cancelled: {
    status: 499,
    retryable: false,
    breakerFault: false,
    logLevel: 'info',
    title: 'Cancelled',
    userMessage: 'The request was cancelled.',
  },
  internal: {
    status: 500,
    retryable: false,
    breakerFault: false,
    logLevel: 'error',
    title: 'Internal error',
    userMessage: 'An internal error occurred.',
  },
};

const CATEGORY_SET: ReadonlySet<string> = new Set(CATEGORIES);

export function isCategory(value: unknown): value is Category {
  return typeof value === 'string' && CATEGORY_SET.has(value);
}

/**
 * Categories that mean "the caller must change something". When a dependency answers with one of
 * these about *our* credentials or configuration, the caller is not at fault (see `origin`).
 */
export const CONFIGURATION_CATEGORIES: ReadonlySet<Category> = new Set(['authentication', 'permission', 'not_found']);
