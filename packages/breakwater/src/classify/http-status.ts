import { defineRules, HEADER_DELAY, NO_DELAY, type Rule, type Signal } from './rule.js';
import { rateLimitResetMs, retryAfterMs, shouldRetryHeader } from './retry-after.js';
import type { HeaderSource } from '../common/headers.js';

export const HTTP_RULES = defineRules('http', 'HTTP status (fetch, SDK status errors)', {
  bad_request: {
    signal: '400, 405, 406, 411, 413, 414, 415, 422, other 4xx',
    category: 'validation',
    retryable: false,
    delay: NO_DELAY,
  },
  unauthorized: { signal: '401', category: 'authentication', retryable: false, delay: NO_DELAY },
  payment_required: { signal: '402', category: 'quota_exceeded', retryable: false, delay: NO_DELAY },
  forbidden: { signal: '403', category: 'permission', retryable: false, delay: NO_DELAY },
  not_found: { signal: '404, 410', category: 'not_found', retryable: false, delay: NO_DELAY },
  request_timeout: { signal: '408', category: 'timeout', retryable: true, delay: HEADER_DELAY },
  conflict: { signal: '409', category: 'conflict', retryable: false, delay: NO_DELAY },
  too_many_requests: {
    signal: '429 (delay: Retry-After, else x-ratelimit-reset-*/anthropic-ratelimit-*-reset)',
    category: 'rate_limited',
    retryable: true,
    delay: HEADER_DELAY,
  },
  server_error: {
    signal: '500, 502, 505-599 except 529',
    category: 'upstream_server',
    retryable: true,
    delay: HEADER_DELAY,
  },
  not_implemented: { signal: '501', category: 'upstream_server', retryable: false, delay: NO_DELAY },
  unavailable: { signal: '503, 529', category: 'overloaded', retryable: true, delay: HEADER_DELAY },
  gateway_timeout: { signal: '504', category: 'timeout', retryable: true, delay: HEADER_DELAY },
});

const EXACT: ReadonlyMap<number, Rule> = new Map([
  [401, HTTP_RULES.unauthorized],
  [402, HTTP_RULES.payment_required],
  [403, HTTP_RULES.forbidden],
  [404, HTTP_RULES.not_found],
  [410, HTTP_RULES.not_found],
  [408, HTTP_RULES.request_timeout],
  [409, HTTP_RULES.conflict],
  [429, HTTP_RULES.too_many_requests],
  [501, HTTP_RULES.not_implemented],
  [503, HTTP_RULES.unavailable],
  [529, HTTP_RULES.unavailable],
  [504, HTTP_RULES.gateway_timeout],
]);

export function ruleForStatus(status: number): Rule | undefined {
  const exact = EXACT.get(status);
  if (exact) return exact;
  if (status >= 500 && status <= 599) return HTTP_RULES.server_error;
  if (status >= 400 && status <= 499) return HTTP_RULES.bad_request;
  return undefined;
}

/**
 * A signal for a failed HTTP exchange: the status rule (or a more specific rule chosen by the
 * caller from the body), the delay the server asked for, and `x-should-retry` applied on top.
 */
export function httpSignal(
  rule: Rule,
  status: number | undefined,
  headers: HeaderSource,
  domain: string,
  dependency?: string,
): Signal {
  const shouldRetry = shouldRetryHeader(headers);
  let delay = retryAfterMs(headers);
  if (delay === undefined && rule.category === 'rate_limited') delay = rateLimitResetMs(headers);
  return {
    rule,
    domain,
    ...(dependency === undefined ? {} : { dependency }),
    ...(status === undefined ? {} : { upstreamStatus: status }),
    ...(shouldRetry === undefined || !rule.retryable === !shouldRetry ? {} : { retryable: shouldRetry }),
    ...(delay === undefined ? {} : { retryAfterMs: delay }),
  };
}
