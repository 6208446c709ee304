import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { withTopLevel } from 'breakwater/http';
import {
  BreakwaterError,
  CallTrail,
  classify,
  Errors,
  runOperation,
  systemClock,
  watchdog,
  type AbortSource,
  type CancelSource,
  type Cancellation,
  type Journal,
} from 'breakwater';
import { RULES } from 'breakwater/rules';
import type { RouteConfig } from '../config/schema.js';
import {
  chunkError,
  openStream,
  streamCut,
  streamFailure,
  type OpenedStream,
  type ResolvedTarget,
  type StreamOptions,
} from '../upstream/call-target.js';
import type { Chunk } from '../upstream/stream-reader.js';
import { copyWith } from '../upstream/copy-with.js';
import { writeToClient, type ClientBounds } from './client-writer.js';
import type { OpenAIErrorRenderer } from './openai-errors.js';
import { asUsage, failureRecord, operationOptions, successRecord, type RecordPolicy } from './operation-record.js';
import { requestOutcome } from './request-outcome.js';
import { overheadMs, trailHeaders, type Route } from './route.js';

interface StreamArgs {
  request: FastifyRequest;
  reply: FastifyReply;
  route: Route;
  body: Record<string, unknown>;
  journal: Journal<unknown>;
  /** The request's: aborted when the client goes away, or by the journal when the lease is lost. */
  cancellation: Cancellation;
  logger: Logger;
  render: OpenAIErrorRenderer;
  bounds: ClientBounds;
  policy: RecordPolicy;
  /** Counts a skipped malformed event (a metric). */
  onMalformedEvent: (target: string) => void;
}

/** What has reached the client so far. */
interface Relayed {
  content: string;
  usage: unknown;
  malformed: number;
}

/**
 * A streamed chat completion. Until the first token arrives nothing has reached the client, so the
 * route's stream pipeline may retry and fall back (within the route's total budget; each attempt
 * bounded by `firstTokenTimeoutMs`). After that the stream's own idle and total timeouts govern;
 * a cut or a stall is resumed on a prefill-capable target when the route says `resume: continue`,
 * and otherwise (or failing that) the stream ends with a well-formed SSE error event naming the
 * original failure — never a silent close — and the operation is recorded failed with the partial
 * output. A clean end after a `finish_reason` is a complete answer, `[DONE]` or not.
 */
export async function streamChat(args: StreamArgs): Promise<void> {
  const { request, reply, route, journal, policy } = args;
  const { cancellation } = args;
  // The usage of the answer is asked for even when the client did not (and then not forwarded to it).
  const clientAsksUsage =
    (args.body['stream_options'] as { include_usage?: unknown } | undefined)?.include_usage === true;
  const body = clientAsksUsage
    ? args.body
    : copyWith<unknown>(
        args.body,
        'stream_options',
        copyWith<unknown>((args.body['stream_options'] ?? {}) as Record<string, unknown>, 'include_usage', true),
      );
  const trail = new CallTrail();
  let firstByteMs: number | undefined;
  const opened: { current?: OpenedStream } = {};
  const onAbort = (): void => opened.current?.abort();
  cancellation.addEventListener('abort', onAbort, { once: true });
  // The client's own text, with the usage option spliced in when the gateway asks for it: what goes
  // upstream for `body` (a resumption's body is another, and is serialised).
  const bodyText = clientAsksUsage
    ? request.jsonText
    : withTopLevel(request.jsonText, { stream_options: body['stream_options'] });
  const open = (target: ResolvedTarget, requestBody: Record<string, unknown>, s: CancelSource) => {
    const options: StreamOptions = {
      maxMalformedEvents: route.config.stream.maxMalformedEvents,
      onMalformed: () => args.onMalformedEvent(target.key),
    };
    if (requestBody === body && bodyText) options.bodyText = bodyText;
    return openStream(target, requestBody, s, request.correlationId, options);
  };
  try {
    await runOperation(
      journal,
      'chat.completions',
      async (op) => {
        try {
          opened.current = await route.streamPipeline.execute(
            (ctx) => open(route.byKey.get(ctx.key)!, body, ctx.abortSource),
            {
              key: route.alias,
              signal: op.abortSource,
              correlationId: request.correlationId,
              trail,
            },
          );
        } catch (error) {
          op.partial = failureRecord(policy, trail);
          throw error;
        } finally {
          op.attempts = trail.attempts;
        }
        const overhead = overheadMs(trail, reply.elapsedTime);
        reply.hijack();
        const headers = trailHeaders(trail, overhead);
        headers['content-type'] = 'text/event-stream; charset=utf-8';
        headers['cache-control'] = 'no-cache';
        headers['connection'] = 'keep-alive';
        headers['x-request-id'] = request.correlationId;
        reply.raw.writeHead(200, headers);
        policy.metrics.overhead(overhead);
        firstByteMs = reply.elapsedTime;
        const relayed: Relayed = { content: '', usage: null, malformed: 0 };
        let target = route.byKey.get(trail.answeredBy!)!;
        let continuation = false;
        for (;;) {
          try {
            await relay(
              opened.current,
              target,
              reply.raw,
              route.config.stream,
              args.bounds,
              cancellation,
              relayed,
              continuation,
              clientAsksUsage,
            );
            break;
          } catch (error) {
            const resumed = await resumeOnPrefillTarget(error, {
              route,
              failed: target,
              body,
              relayed,
              trail,
              open,
              signal: op.abortSource,
              correlationId: request.correlationId,
            });
            if (!resumed) {
              op.partial = failureRecord(policy, trail, relayed.content);
              throw error;
            }
            args.logger.warn(
              {
                event: 'stream_resumed',
                correlation_id: request.correlationId,
                from: target.key,
                to: resumed.target.key,
                code: (error as BreakwaterError).code,
              },
              `stream from ${target.key} resumed on ${resumed.target.key}`,
            );
            opened.current.abort();
            opened.current = resumed.opened;
            target = resumed.target;
            continuation = true;
          } finally {
            op.attempts = trail.attempts;
          }
        }
        reply.raw.end('data: [DONE]\n\n');
        const usage = asUsage(relayed.usage);
        policy.finished(
          requestOutcome(route, trail, {
            operation: 'chat',
            stream: true,
            elapsedMs: reply.elapsedTime,
            usage,
            timeToFirstTokenMs: firstByteMs,
          }),
        );
        // Added to the record successRecord made, not spread into another (see operationOptions).
        const record = successRecord(policy, route.alias, trail, usage);
        record['streamedChars'] = relayed.content.length;
        record['malformedEvents'] = relayed.malformed;
        return record;
      },
      operationOptions(policy, args.body, true, request.correlationId, cancellation),
    );
  } catch (thrown) {
    const error =
      cancellation.aborted && cancellation.reason instanceof BreakwaterError
        ? cancellation.reason
        : classify(thrown, { correlationId: request.correlationId });
    error.correlationId ??= request.correlationId;
    policy.finished(
      requestOutcome(route, trail, {
        operation: 'chat',
        stream: true,
        elapsedMs: reply.elapsedTime,
        error,
        timeToFirstTokenMs: firstByteMs,
      }),
    );
    if (!reply.raw.headersSent) {
      // Nothing was streamed yet: an ordinary error response (the route already retried and fell back).
      void reply.headers(trailHeaders(trail));
      throw error;
    }
    args.logger[error.logLevel]({ err: error, correlation_id: request.correlationId }, `stream ended by ${error.code}`);
    if (!reply.raw.destroyed) reply.raw.end(`data: ${JSON.stringify(args.render(error).body)}\n\n`);
  } finally {
    cancellation.removeEventListener('abort', onAbort);
    // Whatever ended the stream (a slow client, an error event), the upstream connection is released.
    opened.current?.abort();
  }
}

/**
 * After a cut or a stall, when the route allows it: the next target (in route order, after the one
 * that failed) that declares `capabilities.prefill` is asked to continue the partial answer, given
 * as a final assistant message. Never a target that did not declare it. Undefined when there is
 * nothing to resume on, or the attempt failed too (the caller then reports the original failure).
 */
async function resumeOnPrefillTarget(
  error: unknown,
  cut: {
    route: Route;
    failed: ResolvedTarget;
    body: Record<string, unknown>;
    relayed: Relayed;
    trail: CallTrail;
    open: (target: ResolvedTarget, body: Record<string, unknown>, signal: CancelSource) => Promise<OpenedStream>;
    signal: CancelSource;
    correlationId: string;
  },
): Promise<{ target: ResolvedTarget; opened: OpenedStream } | undefined> {
  const { route, failed, body, relayed, trail, open, signal, correlationId } = cut;
  const resume = route.resumeAfter.get(failed.key);
  if (!resume || route.config.stream.resume !== 'continue' || signal.aborted || !resumable(error)) return undefined;
  const messages = [...(body['messages'] as unknown[]), { role: 'assistant', content: relayed.content }];
  let target = failed;
  try {
    const opened = await resume.execute(
      (ctx) => open((target = route.byKey.get(ctx.key)!), { ...body, messages }, ctx.abortSource),
      { key: route.alias, signal, trail, correlationId },
    );
    return { target, opened };
  } catch {
    // The original failure is the one the client hears about; these are in the trail.
    return undefined;
  }
}

/** A cut (the connection, or the stream's end before a finish) or a stall (the idle timeout). */
function resumable(error: unknown): boolean {
  if (!(error instanceof BreakwaterError)) return false;
  return (
    error.rule === RULES.proxy.stream_cut.id ||
    (error.code === Errors.timeout.code && error.details?.['stall'] === true)
  );
}

/**
 * Relays chunks to the client until the upstream finishes. The idle and total timeouts are one
 * watchdog on the shared deadline scheduler (no timer or promise per event). A continuation
 * (`continuation`) forwards only meaningful chunks: the client already has the role chunk.
 */
async function relay(
  opened: OpenedStream,
  target: ResolvedTarget,
  client: ServerResponse,
  limits: RouteConfig['stream'],
  bounds: ClientBounds,
  signal: AbortSource,
  out: Relayed,
  continuation: boolean,
  clientAsksUsage: boolean,
): Promise<void> {
  let expired: 'idle' | 'deadline' | undefined;
  const dog = watchdog({
    idleMs: limits.idleTimeoutMs,
    deadline: systemClock.now() + limits.totalTimeoutMs,
    onExpire: (reason) => {
      expired = reason;
      opened.abort();
    },
  });
  const timedOut = () =>
    Errors.timeout({
      message:
        expired === 'idle'
          ? `No stream data from the upstream for ${limits.idleTimeoutMs} ms.`
          : `The stream took longer than ${limits.totalTimeoutMs} ms.`,
      userMessage: expired === 'idle' ? 'The upstream stopped sending data.' : 'The stream took too long.',
      details: { stall: expired === 'idle' },
      dependency: target.key,
    });
  let finished = false;
  // A continuation does not repeat the whitespace the client already has: a prefill is sent without
  // its trailing space (Anthropic requires it), so the continuation starts with one.
  let joinAtSpace = continuation && /\s$/.test(out.content);
  // Not async: a chunk the client takes at once costs no promise (only backpressure is awaited).
  const send = (received: Chunk): Promise<void> | undefined => {
    const failure = chunkError(target, received);
    if (failure) throw failure;
    let chunk = received;
    if (joinAtSpace && chunk.content !== '') {
      joinAtSpace = false;
      chunk = withoutLeadingSpace(chunk);
    }
    finished = chunk.finished || finished;
    out.content += chunk.content;
    if (chunk.usage) out.usage = chunk.usage;
    if (continuation && !chunk.meaningful) return undefined;
    // The usage-only chunk the gateway asked for on the client's behalf is kept for the journal.
    if (!clientAsksUsage && chunk.usage && !chunk.meaningful && chunk.content === '' && isUsageOnly(chunk.data))
      return undefined;
    const backpressure = writeToClient(client, `data: ${chunk.data}\n\n`, bounds);
    if (backpressure === undefined) return void dog.touch();
    return backpressure.then(() => dog.touch());
  };
  try {
    for (const chunk of opened.head) await send(chunk);
    if (opened.state === 'finished') return;
    for (;;) {
      let item;
      try {
        // An event the last read already holds costs no promise; only reading the body is awaited.
        item = opened.reader.take() ?? (await opened.reader.next());
      } catch (error) {
        if (expired) throw timedOut();
        if (signal.aborted) throw signal.reason;
        throw streamFailure(target, error);
      } finally {
        out.malformed = opened.reader.malformed;
      }
      if (expired) throw timedOut();
      if ('chunk' in item) {
        const backpressure = send(item.chunk);
        if (backpressure) await backpressure;
      } else if ('done' in item || (finished && !item.partialEvent)) return;
      else throw streamCut(target, 'before the answer was complete');
    }
  } finally {
    dog.stop();
  }
}

/** The chunk with its content's leading whitespace removed (re-serialised: this one chunk only). */
function withoutLeadingSpace(chunk: Chunk): Chunk {
  const content = chunk.content.trimStart();
  if (content === chunk.content) return chunk;
  const parsed = JSON.parse(chunk.data) as { choices: Array<{ delta: { content: string } }> };
  parsed.choices[0]!.delta.content = content;
  return { ...chunk, content, data: JSON.stringify(parsed) };
}

/** A chunk with usage and an empty `choices` list: what `stream_options.include_usage` adds at the end. */
function isUsageOnly(data: string): boolean {
  return /"choices"\s*:\s*\[\s*\]/.test(data);
}
