import { Agent, type Dispatcher } from 'undici';
import {
  classify,
  classifyResponse,
  classifyStreamEvent,
  fromRule,
  type BreakwaterError,
  type CancelSource,
} from 'breakwater';
import { RULES } from 'breakwater/rules';
import type { TargetConfig } from '../config/schema.js';
import { emptyResult, type ChatProtocol, type NativeRequest } from './protocol.js';
import { unsupported } from './openai-request.js';
import { passThrough } from './openai.js';
import { copyWith } from './copy-with.js';
import { StreamReader, type Chunk } from './stream-reader.js';
import { headersOf, requestWhole } from './whole-answer.js';
import { requestStreamed } from './streamed-answer.js';
import type { UpstreamRequest } from './upstream-dispatch.js';

export interface ResolvedTarget extends TargetConfig {
  /** The upstream's own protocol (its provider's `kind`). */
  protocol: ChatProtocol;
  /** `max_tokens` sent when the client sets none, where the protocol requires one. */
  defaultMaxTokens: number;
  /** AWS credentials and region for a signed protocol (Bedrock). */
  aws?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  region?: string;
  baseUrl: string;
  apiKey: string | undefined;
  /** The provider's static headers (values redacted everywhere, like keys). */
  headers: Record<string, string>;
  /** `provider:model`: the breaker key and the `x-breakwater-target` header. */
  key: string;
  /** The gateway's connection pool to its upstreams. */
  dispatcher: Dispatcher;
}

/**
 * Keep-alive connections to every upstream, shared by all requests. `maxResponseSize` cuts any
 * response body (a stream included) at the cap, so an upstream that sends without end cannot fill
 * the gateway's memory; the cut is classified `invalid_response`.
 */
export function createUpstreamAgent(maxResponseBytes: number): Agent {
  return new Agent({ keepAliveTimeout: 10_000, connections: 256, maxResponseSize: maxResponseBytes });
}

/**
 * What every request to a target carries (its key, its static headers, the content type), built
 * once per target rather than per request. A reloaded config resolves new targets, so a changed key
 * is never served from here.
 */
const baseHeaders = new WeakMap<ResolvedTarget, Readonly<Record<string, string>>>();

function headersFor(target: ResolvedTarget, correlationId: string | undefined): Readonly<Record<string, string>> {
  let base = baseHeaders.get(target);
  if (!base) {
    base = { ...target.protocol.headers(target.apiKey), ...target.headers, 'content-type': 'application/json' };
    baseHeaders.set(target, base);
  }
  return correlationId ? copyWith(base, 'x-request-id', correlationId) : base;
}

const failure = (target: ResolvedTarget, thrown: unknown): BreakwaterError =>
  classify(thrown, { dependency: target.key, domain: 'LLM' });

/**
 * The request as it goes out: its URL, its headers (signed, where the protocol signs) and its body.
 * Only a signing protocol (Bedrock) waits here; every other request is ready at once.
 */
function prepare(
  target: ResolvedTarget,
  native: NativeRequest,
  correlationId: string | undefined,
): UpstreamRequest | Promise<UpstreamRequest> {
  const url = `${target.baseUrl}${native.path}`;
  const body = native.text ?? JSON.stringify(native.body);
  const headers = headersFor(target, correlationId);
  return target.protocol.sign ? signed(target, { url, headers, body }) : { url, headers, body };
}

async function signed(target: ResolvedTarget, unsigned: UpstreamRequest): Promise<UpstreamRequest> {
  try {
    const headers = await target.protocol.sign!(unsigned, target.aws, target.region);
    return { url: unsigned.url, headers, body: unsigned.body };
  } catch (error) {
    throw failure(target, error);
  }
}

/** A non-2xx answer, classified by its status, headers and (JSON) body. */
function answerFailure(
  target: ResolvedTarget,
  url: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  text: string,
): BreakwaterError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return classifyResponse({ status, headers, url, body: parsed }, { dependency: target.key, defaultDomain: 'LLM' })!;
}

/**
 * Sends the request (`open` reads its answer whole, or hands it over at its headers) and throws the
 * classified failure for any answer of 400 or more.
 */
async function send<A extends { statusCode: number; rawHeaders: Buffer[]; text: string | undefined }>(
  target: ResolvedTarget,
  native: NativeRequest,
  signal: CancelSource,
  correlationId: string | undefined,
  open: (dispatcher: Dispatcher, request: UpstreamRequest, signal: CancelSource) => Promise<A>,
): Promise<A> {
  const ready = prepare(target, native, correlationId);
  const prepared = ready instanceof Promise ? await ready : ready;
  let answer;
  try {
    answer = await open(target.dispatcher, prepared, signal);
  } catch (error) {
    throw failure(target, error);
  }
  if (answer.statusCode >= 400)
    throw answerFailure(target, prepared.url, answer.statusCode, headersOf(answer.rawHeaders), answer.text ?? '');
  return answer;
}

export type JsonCall = 'chat' | 'embeddings';

/** A non-streaming answer, in OpenAI's shape. */
export interface JsonAnswer {
  body: Record<string, unknown>;
  /**
   * The upstream's own text, when `body` is exactly what it sent (an OpenAI-compatible upstream):
   * sent to the client as it came instead of serialised again — an embeddings answer is tens of KB
   * of numbers, and the digits stay the upstream's.
   */
  text: string | undefined;
}

/**
 * A non-streaming call: the request in the upstream's protocol, its answer parsed, checked for the
 * shape a client relies on and translated back to OpenAI's.
 */
export async function callJson(
  target: ResolvedTarget,
  call: JsonCall,
  body: Record<string, unknown>,
  signal: CancelSource,
  correlationId?: string,
  bodyText?: string,
): Promise<JsonAnswer> {
  const { protocol } = target;
  if (call === 'embeddings' && !protocol.embeddings) throw unsupported(target, protocol.kind, 'input', 'embeddings');
  const native =
    call === 'chat'
      ? protocol.chatRequest(body, target, false, bodyText)
      : passThrough('/embeddings', body, target, bodyText);
  const { text } = await send(target, native, signal, correlationId, requestWhole);
  let parsed: Record<string, unknown>;
  try {
    // A body that is not JSON is a SyntaxError: classified as the dependency's malformed response.
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw failure(target, error);
  }
  if (parsed === null || typeof parsed !== 'object') throw emptyResult(target, 'an answer');
  if (call === 'chat') {
    const answer = protocol.chatResponse(parsed, target);
    return { body: answer, text: answer === parsed ? text : undefined };
  }
  if (!Array.isArray(parsed['data'])) throw emptyResult(target, 'embeddings');
  return { body: parsed, text };
}

export interface OpenedStream {
  /**
   * Events up to and including the first meaningful one (the first content token, a tool call, a
   * finish): read before anything reached the client, so a failure until then can be retried.
   */
  head: Chunk[];
  /** `open`: more to read; `finished`: the upstream already ended after a finish_reason. */
  state: 'open' | 'finished';
  reader: StreamReader;
  /** Releases the upstream body: cut at once mid-way; after `[DONE]`, read to its end (see `StreamReader.release`). */
  abort(): void;
}

export interface StreamOptions {
  maxMalformedEvents: number;
  /** The body as text, when it describes `body` exactly (see `ChatProtocol.chatRequest`). */
  bodyText?: string;
  onMalformed?: (count: number) => void;
}

/**
 * Opens a streaming call and reads it up to its first meaningful event (the first token, not just
 * the headers or a role-only chunk); failures until then — an error event, a cut, a malformed
 * stream, the attempt's first-token deadline — can be retried or moved on from.
 */
export async function openStream(
  target: ResolvedTarget,
  body: Record<string, unknown>,
  signal: CancelSource,
  correlationId: string | undefined,
  options: StreamOptions,
): Promise<OpenedStream> {
  // A text that describes the body says `"stream": true` already when the body does.
  const native =
    body['stream'] === true
      ? target.protocol.chatRequest(body, target, true, options.bodyText)
      : target.protocol.chatRequest({ ...body, stream: true }, target, true);
  const answer = await send(target, native, signal, correlationId, requestStreamed);
  const reader = new StreamReader(
    answer.body,
    options.maxMalformedEvents,
    target.key,
    options.onMalformed,
    target.protocol.streamTranslator(target),
    target.protocol.framing,
  );
  const abort = (): void => reader.release(() => answer.cut());
  const head: Chunk[] = [];
  try {
    for (;;) {
      const item = await reader.next();
      if ('chunk' in item) {
        const failure = chunkError(target, item.chunk);
        if (failure) throw failure;
        head.push(item.chunk);
        if (item.chunk.meaningful) return { head, state: 'open', reader, abort };
        continue;
      }
      if (head.some((chunk) => chunk.finished) && !('partialEvent' in item && item.partialEvent))
        return { head, state: 'finished', reader, abort };
      throw streamCut(target, 'before its first token');
    }
  } catch (error) {
    abort();
    throw streamFailure(target, error);
  }
}

/** An `{"error": …}` event inside a stream, classified by its body (`classifyStreamEvent`). */
export function chunkError(target: ResolvedTarget, chunk: Chunk): BreakwaterError | undefined {
  if (chunk.error === undefined) return undefined;
  return classifyStreamEvent({ error: chunk.error }, { dependency: target.key });
}

/** The upstream ended the stream, or its connection broke, before the answer was complete. */
export function streamCut(target: ResolvedTarget, when: string, cause?: unknown): BreakwaterError {
  return fromRule(RULES.proxy.stream_cut, {
    domain: 'LLM',
    dependency: target.key,
    message: `The upstream stream ended ${when}.`,
    ...(cause !== undefined ? { cause } : {}),
  });
}

/**
 * A failure while reading a stream's body: a broken connection is a cut stream; the size cap,
 * aborts and errors already classified stay what they are.
 */
export function streamFailure(target: ResolvedTarget, thrown: unknown): BreakwaterError {
  const error = failure(target, thrown);
  return error.category === 'network' && error.rule !== RULES.proxy.stream_cut.id
    ? streamCut(target, 'when its connection broke', thrown)
    : error;
}
