import type { FastifyReply, FastifyRequest } from 'fastify';
import { CallTrail, runOperation, type Journal } from 'breakwater';
import { callJson } from '../upstream/call-target.js';
import { trailHeaders, trailSummary, type Route } from './route.js';

/** A non-streaming call along a route, journaled as one operation of `kind`. */
export async function proxyJson(
  journal: Journal<unknown>,
  journalMode: 'degrade' | 'fail-closed',
  request: FastifyRequest,
  reply: FastifyReply,
  call: { route: Route; kind: string; path: string; body: Record<string, unknown>; signal: AbortSignal },
): Promise<FastifyReply> {
  const { route, kind, path, body, signal } = call;
  const trail = new CallTrail();
  try {
    let result: Record<string, unknown> = {};
    await runOperation(
      journal,
      kind,
      async (op) => {
        try {
          result = await route.pipeline.execute(
            (ctx) => callJson(route.byKey.get(ctx.key)!, path, body, ctx.signal, request.correlationId),
            { key: route.alias, signal: op.signal, correlationId: request.correlationId, trail },
          );
        } finally {
          op.attempts = trail.attempts;
        }
        return { ...trailSummary(trail), usage: result['usage'] ?? null };
      },
      {
        correlationId: request.correlationId,
        metadata: { model: body['model'], stream: false },
        signal,
        onJournalUnavailable: journalMode,
      },
    );
    return reply.headers(trailHeaders(trail)).send(result);
  } catch (error) {
    // A failure too says which target failed last and how often it was tried.
    void reply.headers(trailHeaders(trail));
    throw error;
  }
}
