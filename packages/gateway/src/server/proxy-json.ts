import type { FastifyReply, FastifyRequest } from 'fastify';
import { CallTrail, classify, runOperation, type Cancellation, type Journal } from 'breakwater';
import { callJson, type JsonAnswer, type JsonCall } from '../upstream/call-target.js';
import { asUsage, failureRecord, operationOptions, successRecord, type RecordPolicy } from './operation-record.js';
import { requestOutcome } from './request-outcome.js';
import { overheadMs, trailHeaders, type Route } from './route.js';

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** A non-streaming call along a route, journaled as one operation of `kind`. */
export async function proxyJson(
  journal: Journal<unknown>,
  policy: RecordPolicy,
  request: FastifyRequest,
  reply: FastifyReply,
  call: {
    route: Route;
    kind: string;
    call: JsonCall;
    body: Record<string, unknown>;
    /** The request's: aborted when the client goes away, or by the journal when the lease is lost. */
    cancellation: Cancellation;
  },
): Promise<FastifyReply> {
  const { route, kind, body, cancellation } = call;
  const trail = new CallTrail();
  try {
    let answer: JsonAnswer = { body: {}, text: undefined };
    await runOperation(
      journal,
      kind,
      async (op) => {
        try {
          answer = await route.pipeline.execute(
            (ctx) =>
              callJson(
                route.byKey.get(ctx.key)!,
                call.call,
                body,
                ctx.abortSource,
                request.correlationId,
                request.jsonText,
              ),
            { key: route.alias, signal: op.abortSource, correlationId: request.correlationId, trail },
          );
        } catch (error) {
          op.partial = failureRecord(policy, trail);
          throw error;
        } finally {
          op.attempts = trail.attempts;
        }
        // The answer goes out before its terminal journal write: the client does not wait for an
        // fsync. If the process dies in between, the sweeper records the operation abandoned
        // (docs/journal.md says what a crash can lose).
        const overhead = overheadMs(trail, reply.elapsedTime);
        policy.metrics.overhead(overhead);
        void reply.headers(trailHeaders(trail, overhead));
        // The upstream's own text when nothing was translated: not serialised a second time.
        if (answer.text === undefined) void reply.send(answer.body);
        else void reply.type(JSON_CONTENT_TYPE).send(answer.text);
        const usage = asUsage(answer.body['usage']);
        policy.finished(
          requestOutcome(route, trail, { operation: call.call, stream: false, elapsedMs: reply.elapsedTime, usage }),
        );
        return successRecord(policy, route.alias, trail, usage);
      },
      operationOptions(policy, body, false, request.correlationId, cancellation),
    );
    return reply;
  } catch (error) {
    // Sent already: what failed after the answer (the journal) is the journal's to record, not the client's.
    if (reply.sent) return reply;
    const failed = { operation: call.call, stream: false, elapsedMs: reply.elapsedTime, error: classify(error) };
    policy.finished(requestOutcome(route, trail, failed));
    // A failure too says which target failed last and how often it was tried.
    void reply.headers(trailHeaders(trail));
    throw error;
  }
}
