import { BACKOFF, defineRules } from '../rule.js';

/**
 * Failures a proxy of LLM responses (the gateway, or your own) detects itself — the upstream
 * answered, but not with something a client can use. Raised with `fromRule`, documented like
 * every classified error.
 */
export const PROXY_RULES = defineRules('proxy', 'Proxied LLM responses (detected, not thrown)', {
  empty_result: {
    signal: 'HTTP 2xx whose body lacks the result it must carry (no `choices`, no embeddings `data`)',
    category: 'invalid_response',
    retryable: true,
    delay: BACKOFF,
  },
  stream_cut: {
    signal: 'an SSE stream that ends, or whose connection breaks, before a `finish_reason` (or before its first event)',
    category: 'network',
    retryable: true,
    delay: BACKOFF,
    userMessage: 'The upstream ended the stream before the answer was complete.',
  },
  malformed_stream: {
    signal: 'more SSE events whose data is not JSON than the proxy tolerates (each one is skipped, never forwarded)',
    category: 'invalid_response',
    retryable: true,
    delay: BACKOFF,
    userMessage: 'The upstream sent a malformed stream.',
  },
});
