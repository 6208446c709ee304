import { BACKOFF, defineRules, NO_DELAY, type Signal } from '../rule.js';
import { classNames, readString } from '../walk.js';

export const ABORT_RULES = defineRules('abort', 'AbortSignal / DOMException', {
  aborted: {
    signal: "name 'AbortError' (DOMException, AbortController.abort()), code UND_ERR_ABORTED / ABORT_ERR",
    category: 'cancelled',
    retryable: false,
    delay: NO_DELAY,
    origin: 'caller',
    code: 'REQUEST_CANCELLED',
  },
  timed_out: {
    signal: "name or class 'TimeoutError' (DOMException from AbortSignal.timeout(), node-redis, p-timeout)",
    category: 'timeout',
    retryable: true,
    delay: BACKOFF,
    code: 'OPERATION_TIMEOUT',
  },
});

/**
 * Cancellation and timeouts signalled the web-standard way. A DOMException `TimeoutError` (from
 * `AbortSignal.timeout`) is a timeout; an `AbortError` is a deliberate cancellation.
 */
export function classifyAbort(value: unknown): Signal | undefined {
  const name = readString(value, 'name');
  if (name === 'AbortError' || (name === undefined && classNames(value)[0] === 'AbortError')) {
    return { rule: ABORT_RULES.aborted, domain: 'REQUEST' };
  }
  if (name === 'TimeoutError' || classNames(value)[0] === 'TimeoutError') {
    return { rule: ABORT_RULES.timed_out, domain: 'OPERATION' };
  }
  return undefined;
}
