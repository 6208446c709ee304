import { defineRules, NO_DELAY, type Rule } from '../rule.js';
import { read, readNumber, readString } from '../walk.js';

/**
 * How OpenAI-compatible servers other than OpenAI word the same failures. Each row names the
 * provider wording it matches and where the wording was taken from; structured fields are used
 * where they exist, else one precise pattern per provider (never a loose match that could turn a
 * caller's error into ours). Token numbers the provider reports are kept in the error's details
 * (`limitTokens`, `requestedTokens`), so a fallback can pick a target whose window fits.
 */
export const PROVIDER_RULES = defineRules('provider', 'OpenAI-compatible servers, by provider wording', {
  vllm_context_length: {
    signal:
      'vLLM / SGLang BadRequestError: "This model\'s maximum context length is N tokens. However, you requested M tokens…" or "The input (M tokens) is longer than the model\'s context length (N tokens)" (vLLM serving_engine; sglang issue QwenLM/Qwen3#1321)',
    category: 'context_length',
    retryable: false,
    delay: NO_DELAY,
  },
  llamacpp_context_length: {
    signal:
      'llama.cpp server: type exceed_context_size_error with n_prompt_tokens and n_ctx (llama-server tools/server)',
    category: 'context_length',
    retryable: false,
    delay: NO_DELAY,
  },
  gemini_context_length: {
    signal:
      'Gemini (and its OpenAI-compatible endpoint): "The input token count (M) exceeds the maximum number of tokens allowed (N)", status INVALID_ARGUMENT (google-gemini/gemini-cli#4231, #11507)',
    category: 'context_length',
    retryable: false,
    delay: NO_DELAY,
  },
  xai_context_length: {
    signal: 'xAI: "This model\'s maximum prompt length is N but the request contains M tokens" (xAI API errors)',
    category: 'context_length',
    retryable: false,
    delay: NO_DELAY,
  },
  tgi_context_length: {
    signal:
      'Together / Hugging Face TGI: "`inputs` tokens + `max_new_tokens` must be <= N. Given: M `inputs` tokens and K `max_new_tokens`" (BerriAI/litellm#4934)',
    category: 'context_length',
    retryable: false,
    delay: NO_DELAY,
  },
  anthropic_context_length: {
    signal:
      'Anthropic (native and OpenAI-compatible): "input length and `max_tokens` exceed context limit: M + K > N" (continuedev/continue#6080), "prompt is too long: R tokens > N maximum" (Anthropic errors docs)',
    category: 'context_length',
    retryable: false,
    delay: NO_DELAY,
  },
  bedrock_context_length: {
    signal:
      'Amazon Bedrock 400 ValidationException "Input is too long for requested model" (no token counts; Bedrock Converse API errors)',
    category: 'context_length',
    retryable: false,
    delay: NO_DELAY,
  },
  gemini_api_key_invalid: {
    signal:
      'Gemini 400 INVALID_ARGUMENT whose ErrorInfo reason is API_KEY_INVALID ("API key not valid"): the credentials, not the request (Gemini troubleshooting docs)',
    category: 'authentication',
    retryable: false,
    delay: NO_DELAY,
  },
  tokens_per_minute_too_large: {
    signal:
      'Groq 413 / OpenAI 429 type "tokens": "Request too large for model … on tokens per minute (TPM): Limit L, Requested R" — larger than the whole per-minute allowance, so waiting cannot help (elizaOS/eliza#4040, continuedev/continue#10218)',
    category: 'rate_limited',
    retryable: false,
    delay: NO_DELAY,
  },
  insufficient_balance: {
    signal:
      'DeepSeek "Insufficient Balance" (402, or 400 code invalid_request_error), OpenRouter 402 "Insufficient credits" (OpenRouter error docs; continuedev/continue#9942, Aider-AI/aider#4851)',
    category: 'quota_exceeded',
    retryable: false,
    delay: NO_DELAY,
  },
  azure_content_filter: {
    signal:
      'Azure OpenAI 400 code content_filter with innererror.code ResponsibleAIPolicyViolation and content_filter_result (the filtered categories are kept in details.filters; Azure OpenAI content filtering docs)',
    category: 'content_filtered',
    retryable: false,
    delay: NO_DELAY,
  },
});

export interface ProviderMatch {
  rule: Rule;
  details?: Record<string, unknown>;
}

/** The error object of a body in any of the shapes these servers use (nested `error`, or top level). */
function errorOf(body: unknown): unknown {
  const nested = read(body, 'error');
  return nested !== null && typeof nested === 'object' ? nested : body;
}

const n = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number(value));
const tokens = (limit?: string, requested?: string) => ({
  ...(limit !== undefined ? { limitTokens: n(limit) } : {}),
  ...(requested !== undefined ? { requestedTokens: n(requested) } : {}),
});

type Matcher = (error: unknown, message: string, status: number | undefined) => ProviderMatch | undefined;

const MATCHERS: readonly Matcher[] = [
  (error) => {
    if (readString(error, 'type') !== 'exceed_context_size_error') return undefined;
    const limit = readNumber(error, 'n_ctx');
    const requested = readNumber(error, 'n_prompt_tokens');
    return {
      rule: PROVIDER_RULES.llamacpp_context_length,
      details: tokens(
        limit === undefined ? undefined : String(limit),
        requested === undefined ? undefined : String(requested),
      ),
    };
  },
  (_error, message) => {
    const m = /This model's maximum context length is (\d+) tokens\. However, you requested (\d+) tokens/.exec(message);
    if (m) return { rule: PROVIDER_RULES.vllm_context_length, details: tokens(m[1], m[2]) };
    // Newer vLLM: "… is too large: 8000. This model's maximum context length is 4096 tokens and your request has 2778 input tokens"
    const recent = /maximum context length is (\d+) tokens and your request has (\d+) input tokens/.exec(message);
    if (recent) {
      const output = /is too large: (\d+)/.exec(message)?.[1];
      const requested = String(Number(recent[2]) + Number(output ?? 0));
      return { rule: PROVIDER_RULES.vllm_context_length, details: tokens(recent[1], requested) };
    }
    const sglang = /The input \((\d+) tokens\) is longer than the model's context length \((\d+) tokens\)/.exec(
      message,
    );
    return sglang ? { rule: PROVIDER_RULES.vllm_context_length, details: tokens(sglang[2], sglang[1]) } : undefined;
  },
  (_error, message) => {
    const m = /The input token count \((\d+)\) exceeds the maximum number of tokens allowed \((\d+)\)/.exec(message);
    return m ? { rule: PROVIDER_RULES.gemini_context_length, details: tokens(m[2], m[1]) } : undefined;
  },
  (_error, message) => {
    const m = /maximum prompt length is (\d+) but the request contains (\d+) tokens/.exec(message);
    return m ? { rule: PROVIDER_RULES.xai_context_length, details: tokens(m[1], m[2]) } : undefined;
  },
  (_error, message) => {
    const m =
      /`inputs` tokens \+ `max_new_tokens` must be <= (\d+)\. Given: (\d+) `inputs` tokens and (\d+) `max_new_tokens`/.exec(
        message,
      );
    return m
      ? { rule: PROVIDER_RULES.tgi_context_length, details: tokens(m[1], String(Number(m[2]) + Number(m[3]))) }
      : undefined;
  },
  (_error, message) => {
    const m = /input length and `max_tokens` exceed context limit: (\d+) \+ (\d+) > (\d+)/.exec(message);
    return m
      ? { rule: PROVIDER_RULES.anthropic_context_length, details: tokens(m[3], String(Number(m[1]) + Number(m[2]))) }
      : undefined;
  },
  (_error, message) => {
    const m = /prompt is too long: (\d+) tokens > (\d+) maximum/.exec(message);
    return m ? { rule: PROVIDER_RULES.anthropic_context_length, details: tokens(m[2], m[1]) } : undefined;
  },
  (_error, message, status) =>
    (status === 400 || status === undefined) && /^Input is too long for requested model/.test(message)
      ? { rule: PROVIDER_RULES.bedrock_context_length }
      : undefined,
  (error) => {
    const details = read(error, 'details');
    return Array.isArray(details) && details.some((d) => readString(d, 'reason') === 'API_KEY_INVALID')
      ? { rule: PROVIDER_RULES.gemini_api_key_invalid }
      : undefined;
  },
  (_error, message, status) => {
    if (status !== 413 && status !== 429) return undefined;
    const m = /Request too large for model .* on tokens per min(?:ute)? \(TPM\): Limit (\d+), Requested (\d+)/.exec(
      message,
    );
    return m && Number(m[2]) > Number(m[1])
      ? { rule: PROVIDER_RULES.tokens_per_minute_too_large, details: { tpmLimit: n(m[1]), tpmRequested: n(m[2]) } }
      : undefined;
  },
  (_error, message, status) =>
    (status === 402 || status === 400 || status === undefined) && /^Insufficient (Balance|credits)\b/.test(message)
      ? { rule: PROVIDER_RULES.insufficient_balance }
      : undefined,
  (error) => {
    const inner = read(error, 'innererror');
    if (readString(inner, 'code') !== 'ResponsibleAIPolicyViolation') return undefined;
    const result = read(inner, 'content_filter_result');
    const filters =
      result !== null && typeof result === 'object'
        ? Object.entries(result as Record<string, unknown>)
            .filter(([, v]) => read(v, 'filtered') === true || read(v, 'detected') === true)
            .map(([name]) => name)
        : [];
    return { rule: PROVIDER_RULES.azure_content_filter, details: { filters } };
  },
];

/** The provider row a failure's body matches, with the numbers it reports; undefined when none does. */
export function providerMatch(body: unknown, status: number | undefined): ProviderMatch | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const error = errorOf(body);
  const message =
    readString(error, 'message') ?? (typeof read(body, 'error') === 'string' ? String(read(body, 'error')) : '');
  for (const matcher of MATCHERS) {
    try {
      const match = matcher(error, message, status);
      if (match) return match;
    } catch {
      // A hostile body must not take classification down.
    }
  }
  return undefined;
}
