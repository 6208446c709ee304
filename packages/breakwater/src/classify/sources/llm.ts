import { httpSignal, ruleForStatus } from '../http-status.js';
import { BACKOFF, defineRules, NO_DELAY, type Rule, type Signal } from '../rule.js';
import { classNames, read, readNumber, readString } from '../walk.js';
import { providerMatch } from './providers.js';

export const LLM_RULES = defineRules('llm', 'openai, @anthropic-ai/sdk (Stainless SDK errors)', {
  user_abort: {
    signal: 'APIUserAbortError (the caller aborted)',
    category: 'cancelled',
    retryable: false,
    delay: NO_DELAY,
    origin: 'caller',
    code: 'REQUEST_CANCELLED',
  },
  connection_timeout: { signal: 'APIConnectionTimeoutError', category: 'timeout', retryable: true, delay: BACKOFF },
  connection_failed: {
    signal: 'APIConnectionError (status undefined; the fetch cause, if any, decides first)',
    category: 'network',
    retryable: true,
    delay: BACKOFF,
    weak: true,
  },
  quota: {
    signal:
      'code or type insufficient_quota, billing_hard_limit_reached; Anthropic billing_error (402), enforced_spend_limit_reached — even on 429',
    category: 'quota_exceeded',
    retryable: false,
    delay: NO_DELAY,
  },
  context_length: {
    signal:
      "code context_length_exceeded / model_context_window_exceeded; Anthropic 'prompt is too long' (no structured field: message); LengthFinishReasonError",
    category: 'context_length',
    retryable: false,
    delay: NO_DELAY,
  },
  content_filtered: {
    signal: 'code content_filter / content_policy_violation (Azure, OpenAI); ContentFilterFinishReasonError',
    category: 'content_filtered',
    retryable: false,
    delay: NO_DELAY,
  },
  overloaded: {
    signal: 'Anthropic 529 / type overloaded_error (also inside a stream)',
    category: 'overloaded',
    retryable: true,
    delay: BACKOFF,
  },
  stream_error: {
    signal: 'error event inside an SSE stream after HTTP 200 with no known type (type api_error/server_error)',
    category: 'upstream_server',
    retryable: true,
    delay: BACKOFF,
  },
});

const QUOTA = new Set([
  'insufficient_quota',
  'billing_error',
  'billing_hard_limit_reached',
  'enforced_spend_limit_reached',
]);
const CONTEXT = new Set(['context_length_exceeded', 'model_context_window_exceeded']);
const CONTENT = new Set(['content_filter', 'content_policy_violation', 'ResponsibleAIPolicyViolation']);
// Message text is read only where the provider offers no structured field (Anthropic).
const CONTEXT_MESSAGE = /prompt is too long|maximum context length|context window/i;

/** Error types that arrive in a stream body (status undefined), mapped to the status they stand for. */
const TYPE_STATUS: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  tokens: 429,
  requests: 429,
  // Google RPC status names (Gemini's `error.status`, also inside a stream).
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  // AWS exceptions inside a Bedrock event stream (camelCase there, PascalCase in x-amzn-errortype).
  throttlingException: 429,
  serviceUnavailableException: 503,
  internalServerException: 500,
  modelStreamErrorException: 502,
  modelTimeoutException: 504,
  validationException: 400,
};

export function isStainlessError(names: string[]): boolean {
  return names.includes('APIError') || names.includes('OpenAIError') || names.includes('AnthropicError');
}

/**
 * The OpenAI and Anthropic SDKs share one generated error hierarchy. We read it by shape (class
 * names, `status`, `headers`, `type`, `code`, the body in `error`) and never import the SDKs.
 */
export function classifyLlmSdk(value: unknown): Signal | undefined {
  const names = classNames(value);
  if (!isStainlessError(names)) return undefined;
  const dependency = names.includes('AnthropicError')
    ? 'anthropic'
    : names.includes('OpenAIError')
      ? 'openai'
      : undefined;
  const base = { domain: 'LLM', ...(dependency ? { dependency } : {}) };

  if (names.includes('APIUserAbortError')) return { rule: LLM_RULES.user_abort, ...base };
  if (names.includes('APIConnectionTimeoutError')) return { rule: LLM_RULES.connection_timeout, ...base };
  if (names.includes('APIConnectionError')) return { rule: LLM_RULES.connection_failed, ...base };
  if (names.includes('LengthFinishReasonError')) return { rule: LLM_RULES.context_length, ...base };
  if (names.includes('ContentFilterFinishReasonError')) return { rule: LLM_RULES.content_filtered, ...base };

  const status = readNumber(value, 'status');
  const headers = read(value, 'headers');
  const provider = providerMatch(value, status);
  if (provider) {
    const signal = httpSignal(provider.rule, status, headers, 'LLM', dependency);
    return { ...signal, retryable: provider.rule.retryable, details: { ...signal.details, ...provider.details } };
  }
  const bodyRule = ruleFromBody(value, status);
  // Body-specific rules (quota, context, filter) are final: a server's x-should-retry cannot make
  // an exhausted quota retryable.
  if (bodyRule) return { ...httpSignal(bodyRule, status, headers, 'LLM', dependency), retryable: bodyRule.retryable };
  const effectiveStatus = status ?? TYPE_STATUS[errorType(value) ?? ''];
  const rule = effectiveStatus === undefined ? LLM_RULES.stream_error : ruleForStatus(effectiveStatus);
  if (!rule) return undefined;
  return httpSignal(rule, status, headers, 'LLM', dependency);
}

/**
 * An `{"error": …}` event inside an SSE stream after HTTP 200 (no status to go by), classified by
 * its body as a status-less SDK error would be: quota, context length and filter by the body's
 * code, rate limits and the rest by the error `type`, anything else `llm.stream_error`.
 * Undefined when the event carries no error.
 */
export function streamEventSignal(event: unknown): Signal | undefined {
  const error = read(event, 'error');
  if (error === null || typeof error !== 'object') return undefined;
  const type = readString(error, 'type') ?? readString(error, 'status') ?? '';
  const provider = providerMatch(event, undefined);
  const bodyRule = provider?.rule ?? ruleFromBody(event, undefined);
  // Gemini puts the HTTP status the error stands for in a numeric `code`.
  const code = readNumber(error, 'code');
  const status = TYPE_STATUS[type] ?? (code !== undefined && code >= 400 && code < 600 ? code : undefined);
  const rule = bodyRule ?? (status === undefined ? undefined : ruleForStatus(status)) ?? LLM_RULES.stream_error;
  return {
    rule,
    domain: 'LLM',
    details: { type, code: readString(error, 'code') ?? code ?? null, ...provider?.details },
  };
}

/**
 * Rules decided by the error body. Exported for the gateway and for Vercel AI SDK errors, whose
 * bodies are the providers' own JSON.
 */
export function ruleFromBody(error: unknown, status: number | undefined): Rule | undefined {
  const tags = errorTags(error);
  if (tags.some((t) => QUOTA.has(t))) return LLM_RULES.quota;
  if (tags.some((t) => CONTEXT.has(t))) return LLM_RULES.context_length;
  if (tags.some((t) => CONTENT.has(t))) return LLM_RULES.content_filtered;
  if (status === 529 || tags.includes('overloaded_error')) return LLM_RULES.overloaded;
  if ((status === 400 || status === 413 || status === undefined) && tags.includes('invalid_request_error')) {
    const message =
      readString(read(error, 'error'), 'message') ?? readString(read(read(error, 'error'), 'error'), 'message');
    if (message && CONTEXT_MESSAGE.test(message)) return LLM_RULES.context_length;
  }
  return undefined;
}

/** Every `type` and `code` the SDK error or its body carries (OpenAI and Anthropic nest differently). */
function errorTags(error: unknown): string[] {
  const body = read(error, 'error');
  const inner = read(body, 'error');
  const candidates = [
    read(error, 'type'),
    read(error, 'code'),
    read(error, 'errorCode'),
    read(body, 'type'),
    read(body, 'code'),
    read(inner, 'type'),
    read(inner, 'code'),
    read(body, 'status'),
  ];
  return candidates.filter((c): c is string => typeof c === 'string' && c !== 'error');
}

function errorType(error: unknown): string | undefined {
  return errorTags(error).find((t) => t in TYPE_STATUS);
}
