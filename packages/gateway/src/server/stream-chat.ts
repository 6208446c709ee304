import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import {
  BreakwaterError,
  CallTrail,
  classify,
  Errors,
  runOperation,
  systemClock,
  watchdog,
  type Journal,
} from 'breakwater';
import type { RouteConfig } from '../config/schema.js';
import {
  openStream,
  streamCut,
  streamError,
  streamFailure,
  type OpenedStream,
  type ResolvedTarget,
} from '../upstream/call-target.js';
import type { SseData } from '../upstream/sse.js';
import { writeToClient, type ClientBounds } from './client-writer.js';
import type { OpenAIErrorRenderer } from './openai-errors.js';
import { trailHeaders, trailSummary, type Route } from './route.js';

interface StreamArgs {
  request: FastifyRequest;
  reply: FastifyReply;
  route: Route;
  body: Record<string, unknown>;
  journal: Journal<unknown>;
  signal: AbortSignal;
  logger: Logger;
  render: OpenAIErrorRenderer;
  bounds: ClientBounds;
  onJournalUnavailable: 'degrade' | 'fail-closed';
}

/**
 * A streamed chat completion. Until the upstream's first event arrives nothing has reached the
 * client, so the route's pipeline may retry and fall back (within the route's total budget). After
 * that the stream's own idle and total timeouts govern, and a failure (a cut stream, an error
 * event, a timeout) ends the stream with a well-formed SSE error event in OpenAI's shape — never a
 * silent clean close — and the operation is recorded failed with the partial output. A clean end
 * after a `finish_reason` is a complete answer, `[DONE]` or not.
 */
export async function streamChat(args: StreamArgs): Promise<void> {
  const { request, reply, route, body, journal, signal } = args;
  const trail = new CallTrail();
  let opened: OpenedStream | undefined;
  const onAbort = (): void => opened?.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await runOperation(
      journal,
      'chat.completions',
      async (op) => {
        try {
          opened = await route.pipeline.execute(
            (ctx) => openStream(route.byKey.get(ctx.key)!, body, ctx.signal, request.correlationId),
            { key: route.alias, signal: op.signal, correlationId: request.correlationId, trail },
          );
        } finally {
          op.attempts = trail.attempts;
        }
        reply.hijack();
        reply.raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
          'x-request-id': request.correlationId,
          ...trailHeaders(trail),
        });
        const relayed = { content: '', usage: null as unknown };
        try {
          await relay(
            opened,
            route.byKey.get(trail.answeredBy!)!,
            reply.raw,
            route.config.stream,
            args.bounds,
            signal,
            relayed,
          );
        } catch (error) {
          op.partial = { content: relayed.content };
          throw error;
        }
        reply.raw.end('data: [DONE]\n\n');
        return { ...trailSummary(trail), streamedChars: relayed.content.length, usage: relayed.usage };
      },
      {
        correlationId: request.correlationId,
        metadata: { model: body['model'], stream: true },
        signal,
        onJournalUnavailable: args.onJournalUnavailable,
      },
    );
  } catch (thrown) {
    const error = signal.aborted && signal.reason instanceof BreakwaterError ? signal.reason : classify(thrown);
    if (!reply.raw.headersSent) {
      // Nothing was streamed yet: an ordinary error response (the route already retried and fell back).
      void reply.headers(trailHeaders(trail));
      throw error;
    }
    args.logger[error.logLevel]({ err: error }, `stream ended by ${error.code}`);
    if (!reply.raw.destroyed) reply.raw.end(`data: ${JSON.stringify(args.render(error).body)}\n\n`);
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Whatever ended the stream (a slow client, an error event), the upstream connection is released.
    opened?.abort();
  }
}

/**
 * Relays events to the client until the upstream finishes. The idle and total timeouts are one
 * watchdog on the shared deadline scheduler (no timer or promise per event).
 */
async function relay(
  opened: OpenedStream,
  target: ResolvedTarget,
  client: ServerResponse,
  limits: RouteConfig['stream'],
  bounds: ClientBounds,
  signal: AbortSignal,
  out: { content: string; usage: unknown },
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
    });
  let finished = false;
  let event: SseData = opened.first;
  try {
    for (;;) {
      if ('done' in event) return;
      if ('ended' in event) {
        if (finished && !event.partialEvent) return;
        throw streamCut(target, 'before the answer was complete');
      }
      const failure = streamError(target, event);
      if (failure) throw failure;
      finished = inspect(event.data, out) || finished;
      await writeToClient(client, `data: ${event.data}\n\n`, bounds);
      dog.touch();
      let next: IteratorResult<SseData>;
      try {
        next = await opened.rest.next();
      } catch (error) {
        if (expired) throw timedOut();
        if (signal.aborted) throw signal.reason;
        throw streamFailure(target, error);
      }
      if (expired) throw timedOut();
      event = next.done ? { ended: true, partialEvent: false } : next.value;
    }
  } finally {
    dog.stop();
  }
}

/** Reads one chunk: appends its content, keeps its usage; true when it carries a finish_reason. */
function inspect(data: string, out: { content: string; usage: unknown }): boolean {
  try {
    const chunk = JSON.parse(data) as {
      choices?: Array<{ delta?: { content?: string }; finish_reason?: string | null }>;
      usage?: unknown;
    };
    out.content += chunk.choices?.[0]?.delta?.content ?? '';
    if (chunk.usage) out.usage = chunk.usage;
    return typeof chunk.choices?.[0]?.finish_reason === 'string';
  } catch {
    return false;
  }
}
