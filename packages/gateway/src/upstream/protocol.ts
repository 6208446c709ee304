import { fromRule, type BreakwaterError } from 'breakwater';
import { RULES } from 'breakwater/rules';
import type { Chunk } from './stream-reader.js';

/** How the gateway talks to an upstream: OpenAI's chat API, Anthropic Messages, Gemini generateContent, Bedrock Converse. */
export const PROVIDER_KINDS = ['openai', 'anthropic', 'gemini', 'bedrock'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** A request in the upstream's own protocol. */
export interface NativeRequest {
  /** Appended to the provider's `baseUrl`. */
  path: string;
  body: unknown;
  /** `body` already serialised (the client's own text with the model spliced in), when it could be. */
  text?: string | undefined;
}

/** What a protocol needs to know about the target it translates for. */
export interface TranslationTarget {
  /** `provider:model`, named in errors. */
  key: string;
  model: string;
  /** `max_tokens` when the client sets none (Anthropic requires one). */
  defaultMaxTokens: number;
}

/**
 * Turns one stream's native events into OpenAI chunks: each SSE data payload gives zero or more
 * chunks (`[]` for a keep-alive), or undefined when it is not JSON (skipped and counted).
 */
export type StreamTranslator = (data: string) => Chunk[] | undefined;

/**
 * One upstream protocol, spoken by the gateway on behalf of OpenAI-compatible clients: the
 * request translated out, the answer (and each stream event) translated back. Failures are
 * classified by the library's rules either way; a field the protocol cannot honour is a 400
 * naming it (`unsupportedField`), never dropped.
 */
export interface ChatProtocol {
  readonly kind: ProviderKind;
  /** Headers that carry the key, plus any the protocol always needs (e.g. `anthropic-version`). */
  headers(apiKey: string | undefined): Record<string, string>;
  /**
   * `bodyText`: `body` as text — the client's own, any change spliced in — for a protocol that
   * passes the request through (OpenAI's); the others translate `body`.
   */
  chatRequest(
    body: Record<string, unknown>,
    target: TranslationTarget,
    stream: boolean,
    bodyText?: string,
  ): NativeRequest;
  /** The answer as an OpenAI `chat.completion`; throws a classified failure for an answer with nothing in it. */
  chatResponse(native: Record<string, unknown>, target: TranslationTarget): Record<string, unknown>;
  streamTranslator(target: TranslationTarget): StreamTranslator;
  /** Whether `/v1/embeddings` can be served (only OpenAI-compatible upstreams). */
  readonly embeddings: boolean;
  /** How a stream is framed: server-sent events (default) or AWS's binary event stream. */
  readonly framing?: 'sse' | 'aws-eventstream';
  /** The path of a cheap GET that tells whether the upstream is up (background breaker probes); none: no probe. */
  readonly probePath?: string;
  /** Signs a request (AWS SigV4): the headers to send instead of `headers`. */
  sign?(
    request: { url: string; headers: Record<string, string>; body: string },
    credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined,
    region: string | undefined,
  ): Promise<Record<string, string>>;
}

/** A 200 without what was asked for in it (no choices, no content, no candidates). */
export function emptyResult(target: { key: string }, what: string): BreakwaterError {
  return fromRule(RULES.proxy.empty_result, {
    domain: 'LLM',
    dependency: target.key,
    message: `The upstream answered 200 with no ${what}.`,
  });
}
