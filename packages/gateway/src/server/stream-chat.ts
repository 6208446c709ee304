import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { BreakwaterError, classify, Errors, runOperation, type Journal } from 'breakwater';
import { openStream, streamError, type OpenedStream } from '../upstream/call-target.js';
import type { SseData } from '../upstream/sse.js';
import { writeToClient, type ClientBounds } from './client-writer.js';
import { openAIError } from './openai-errors.js';
import { runRoute, type Route, type RouteProgress } from './route-runner.js';

interface StreamArgs {
  request: FastifyRequest;
  reply: FastifyReply;
  route: Route;
  body: Record<string, unknown>;
  journal: Journal<unknown>;
  signal: AbortSignal;
  progress: RouteProgress;
  logger: Logger;
  bounds: ClientBounds;
  onJournalUnavailable: 'degrade' | 'fail-closed';
}

/**
 * A streamed chat completion. Until the upstream's first event arrives nothing has reached the
 * client, so the route may retry and fall back. After that, a failure (a cut stream, an error event,
 * the idle or total stream timeout) ends the stream with a well-formed SSE error event in OpenAI's
 * shape — never a silent clean close — and the operation is recorded failed with the partial output.
 */
export async function streamChat(args: StreamArgs): Promise<void> {
  const { request, reply, route, body, journal, signal, progress } = args;
  const { idleTimeoutMs, totalTimeoutMs } = route.config.stream;
  let opened: OpenedStream | undefined;
  const onAbort = (): void => opened?.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  const headers = (): Record<string, string> => ({
    'x-request-id': request.correlationId,
    ...(progress.target ? { 'x-breakwater-target': progress.target.key } : {}),
    'x-breakwater-attempts': String(progress.attempts),
    ...(progress.fellBackFrom.length ? { 'x-breakwater-fallback-from': progress.fellBackFrom.join(', ') } : {}),
  });
  try {
    await runOperation(
      journal,
      'chat.completions',
      async (op) => {
        opened = await runRoute(
          route,
          (target, s) => openStream(target, body, s, request.correlationId),
          signal,
          progress,
          request.correlationId,
        );
        op.attempts = progress.attempts;
        reply.hijack();
        reply.raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
          ...headers(),
        });
        let partial = '';
        const deadline = Date.now() + totalTimeoutMs;
        let event: SseData = opened.first;
        for (;;) {
          if ('done' in event) break;
          const failure = streamError(progress.target!, event);
          if (failure) {
            op.partial = { content: partial };
            throw failure;
          }
          partial += contentOf(event.data);
          try {
            await writeToClient(reply.raw, `data: ${event.data}\n\n`, args.bounds);
            event = await nextEvent(opened, Math.min(idleTimeoutMs, deadline - Date.now()), signal);
          } catch (error) {
            op.partial = { content: partial };
            throw error;
          }
        }
        reply.raw.end('data: [DONE]\n\n');
        return {
          target: progress.target?.key,
          attempts: progress.attempts,
          fellBackFrom: progress.fellBackFrom,
          streamedChars: partial.length,
        };
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
      void reply.headers(headers());
      throw error;
    }
    args.logger[error.logLevel]({ err: error }, `stream ended by ${error.code}`);
    if (!reply.raw.destroyed) reply.raw.end(`data: ${JSON.stringify(openAIError(error).body)}\n\n`);
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Whatever ended the stream (a slow client, an error event), the upstream connection is released.
    opened?.abort();
  }
}

/** The next upstream event, or a timeout error when none arrives within `ms`. */
async function nextEvent(opened: OpenedStream, ms: number, signal: AbortSignal): Promise<SseData> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        opened.abort();
        reject(
          Errors.timeout({
            message: `No stream data from the upstream for ${Math.round(ms)} ms.`,
            userMessage: 'The upstream stopped sending data.',
          }),
        );
      },
      Math.max(0, ms),
    );
  });
  try {
    const next = await Promise.race([opened.rest.next(), idle]);
    if (next.done)
      throw Object.assign(new Error('The upstream stream ended without [DONE].'), { code: 'UND_ERR_SOCKET' });
    return next.value;
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function contentOf(data: string): string {
  try {
    const parsed = JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }> };
    return parsed.choices?.[0]?.delta?.content ?? '';
  } catch {
    return '';
  }
}
