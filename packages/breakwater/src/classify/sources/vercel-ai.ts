import { httpSignal, ruleForStatus } from '../http-status.js';
import { BACKOFF, defineRules, NO_DELAY, type Signal } from '../rule.js';
import { read, readNumber, readString } from '../walk.js';
import { hostOf } from './http.js';
import { ruleFromBody } from './llm.js';

export const VERCEL_AI_RULES = defineRules('ai', 'Vercel AI SDK (ai, @ai-sdk/*)', {
  call_failed_no_status: {
    signal: "AI_APICallError without statusCode ('Cannot connect to API'; its cause decides first)",
    category: 'network',
    retryable: true,
    delay: BACKOFF,
    weak: true,
  },
  invalid_response: {
    signal:
      'AI_JSONParseError, AI_TypeValidationError, AI_InvalidResponseDataError, AI_EmptyResponseBodyError, AI_NoContentGeneratedError',
    category: 'invalid_response',
    retryable: true,
    delay: BACKOFF,
  },
  missing_api_key: {
    signal: 'AI_LoadAPIKeyError, AI_LoadSettingError (our configuration)',
    category: 'authentication',
    retryable: false,
    delay: NO_DELAY,
  },
});

const INVALID_RESPONSE = new Set([
  'AI_JSONParseError',
  'AI_TypeValidationError',
  'AI_InvalidResponseDataError',
  'AI_EmptyResponseBodyError',
  'AI_NoContentGeneratedError',
]);

/**
 * `APICallError` carries the provider's status, headers and raw body; the body decides quota and
 * context-length exactly as for the providers' own SDKs. `RetryError` is unwrapped by the cause
 * walker through `lastError`, so the last attempt's error decides.
 */
export function classifyVercelAi(value: unknown): Signal | undefined {
  const name = readString(value, 'name');
  if (name === undefined || !name.startsWith('AI_')) return undefined;
  if (INVALID_RESPONSE.has(name)) return { rule: VERCEL_AI_RULES.invalid_response, domain: 'LLM' };
  if (name === 'AI_LoadAPIKeyError' || name === 'AI_LoadSettingError') {
    return { rule: VERCEL_AI_RULES.missing_api_key, domain: 'LLM' };
  }
  if (name !== 'AI_APICallError') return undefined;
  const status = readNumber(value, 'statusCode');
  const dependency = hostOf(read(value, 'url'));
  if (status === undefined) {
    return { rule: VERCEL_AI_RULES.call_failed_no_status, domain: 'LLM', ...(dependency ? { dependency } : {}) };
  }
  const headers = read(value, 'responseHeaders');
  const bodyRule = ruleFromBody(parseBody(readString(value, 'responseBody')), status);
  if (bodyRule) return { ...httpSignal(bodyRule, status, headers, 'LLM', dependency), retryable: bodyRule.retryable };
  const rule = ruleForStatus(status);
  return rule && httpSignal(rule, status, headers, 'LLM', dependency);
}

function parseBody(body: string | undefined): unknown {
  if (!body || body.length > 1_000_000) return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
