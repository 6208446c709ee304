import type { BreakwaterError } from '../errors/breakwater-error.js';
import { fromSignal, type ClassifyOptions } from './classify.js';
import type { HeaderSource } from '../common/headers.js';
import { httpSignal, ruleForStatus } from './http-status.js';
import { googleRetryDelayMs } from './retry-after.js';
import { hostOf } from './sources/http.js';
import { ruleFromBody } from './sources/llm.js';
import { providerMatch } from './sources/providers.js';

export interface FailedResponse {
  status: number;
  headers?: HeaderSource;
  url?: string;
  /** The parsed JSON body, if any: an LLM provider's body decides quota, context length, filters. */
  body?: unknown;
}

/**
 * Classifies a non-2xx response from `fetch` (or any client) without throwing it first.
 * Returns undefined for a status that is not an error.
 */
export function classifyResponse(
  response: FailedResponse,
  options: ClassifyOptions & { defaultDomain?: string } = {},
): BreakwaterError | undefined {
  const provider = response.body === undefined ? undefined : providerMatch(response.body, response.status);
  const bodyRule =
    provider?.rule ?? (response.body === undefined ? undefined : ruleFromBody(response.body, response.status));
  const rule = bodyRule ?? ruleForStatus(response.status);
  if (!rule) return undefined;
  const dependency = options.dependency ?? hostOf(response.url);
  const domain = bodyRule ? 'LLM' : (options.defaultDomain ?? 'UPSTREAM');
  const signal = httpSignal(rule, response.status, response.headers, domain, dependency);
  const bodyDelay = signal.retryAfterMs === undefined ? googleRetryDelayMs(response.body) : undefined;
  const final = {
    ...signal,
    ...(bodyDelay === undefined ? {} : { retryAfterMs: bodyDelay }),
    ...(bodyRule ? { retryable: bodyRule.retryable } : {}),
    ...(provider?.details ? { details: { ...signal.details, ...provider.details } } : {}),
  };
  const error = new Error(`Upstream answered ${response.status}${response.url ? ` for ${response.url}` : ''}`);
  return fromSignal(final, Object.assign(error, { status: response.status, body: response.body }), options);
}
