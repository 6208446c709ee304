import { Agent, request, type Dispatcher } from 'undici';
import { BreakwaterError, classify, classifyResponse } from 'breakwater';
import type { TargetConfig } from '../config/schema.js';
import { sseEvents, type SseData } from './sse.js';

export interface ResolvedTarget extends TargetConfig {
  baseUrl: string;
  apiKey: string | undefined;
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

function headersFor(target: ResolvedTarget, correlationId: string | undefined): Record<string, string> {
  return {
    'content-type': 'application/json',
    ...(target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {}),
    ...(correlationId ? { 'x-request-id': correlationId } : {}),
  };
}

const invalid = (target: ResolvedTarget, message: string, cause?: unknown) =>
  new BreakwaterError({
    code: 'LLM_INVALID_RESPONSE',
    category: 'invalid_response',
    origin: 'dependency',
    dependency: target.key,
    message,
    cause,
    rule: 'gateway.invalid_body',
  });

/** Sends the request and throws the classified failure for any non-2xx answer. */
async function send(
  target: ResolvedTarget,
  path: string,
  body: Record<string, unknown>,
  signal: AbortSignal,
  correlationId: string | undefined,
) {
  const url = `${target.baseUrl.replace(/\/$/, '')}${path}`;
  let response;
  try {
    response = await request(url, {
      method: 'POST',
      headers: headersFor(target, correlationId),
      body: JSON.stringify({ ...body, model: target.model }),
      signal,
      dispatcher: target.dispatcher,
    });
  } catch (error) {
    throw classify(error, { dependency: target.key, domain: 'LLM' });
  }
  if (response.statusCode >= 400) {
    const text = await response.body.text().catch(() => '');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    throw classifyResponse(
      { status: response.statusCode, headers: response.headers, url, body: parsed },
      { dependency: target.key, defaultDomain: 'LLM' },
    )!;
  }
  return response;
}

/** A non-streaming call: the parsed JSON, checked for the shape a client relies on. */
export async function callJson(
  target: ResolvedTarget,
  path: string,
  body: Record<string, unknown>,
  signal: AbortSignal,
  correlationId?: string,
): Promise<Record<string, unknown>> {
  const response = await send(target, path, body, signal, correlationId);
  let text: string;
  try {
    text = await response.body.text();
  } catch (error) {
    throw classify(error, { dependency: target.key, domain: 'LLM' });
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw invalid(target, 'The upstream answered 200 with a body that is not JSON.', error);
  }
  if (path === '/chat/completions' && (!Array.isArray(parsed['choices']) || parsed['choices'].length === 0)) {
    throw invalid(target, 'The upstream answered 200 with no choices.');
  }
  if (path === '/embeddings' && !Array.isArray(parsed['data']))
    throw invalid(target, 'The upstream answered 200 with no embeddings.');
  return parsed;
}

export interface OpenedStream {
  /** The first event: the proof the stream started, before anything reached the client. */
  first: SseData;
  rest: AsyncGenerator<SseData>;
  abort(): void;
}

/** Opens a streaming call and waits for its first event; failures until then can be retried. */
export async function openStream(
  target: ResolvedTarget,
  body: Record<string, unknown>,
  signal: AbortSignal,
  correlationId?: string,
): Promise<OpenedStream> {
  const response = await send(target, '/chat/completions', { ...body, stream: true }, signal, correlationId);
  const events = sseEvents(response.body);
  let first: IteratorResult<SseData>;
  try {
    first = await events.next();
  } catch (error) {
    throw classify(error, { dependency: target.key, domain: 'LLM' });
  }
  if (first.done) throw invalid(target, 'The upstream stream ended before its first event.');
  const failure = streamError(target, first.value);
  if (failure) throw failure;
  return { first: first.value, rest: events, abort: () => response.body.destroy() };
}

/** An `{"error": …}` event inside a stream, classified by its body like any upstream error. */
export function streamError(target: ResolvedTarget, event: SseData): BreakwaterError | undefined {
  if (!('data' in event) || !event.data.includes('"error"')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(event.data);
  } catch {
    return undefined;
  }
  const error = (parsed as { error?: { type?: string } }).error;
  if (!error) return undefined;
  const status =
    error.type === 'rate_limit_error' || error.type === 'tokens' || error.type === 'requests'
      ? 429
      : error.type === 'overloaded_error'
        ? 529
        : 500;
  return classifyResponse({ status, body: parsed }, { dependency: target.key, defaultDomain: 'LLM' });
}
