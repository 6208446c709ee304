import type { FastifyReply, FastifyRequest } from 'fastify';
import { Errors, type BreakwaterError } from 'breakwater';
import type { Admission } from './admission.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { Route } from './route.js';
import type { Upstreams } from './upstreams.js';

/**
 * Every request to an upstream goes through here: fail fast (no journal row) when every target's
 * breaker is open, then the gateway's admission bulkhead, then the work under the request's signal
 * (client gone → cancelled; the route's total time → timeout).
 */
export function requestHandler(admission: Admission, counters: GatewayMetrics, upstreams: Upstreams) {
  return async (
    request: FastifyRequest,
    reply: FastifyReply,
    route: Route,
    work: (signal: AbortSignal) => Promise<unknown>,
  ): Promise<unknown> => {
    const refused = refusedBeforeWork(route, upstreams);
    if (refused) {
      counters.rejected(refused.code === Errors.circuitOpen.code ? 'all_targets_open' : 'all_targets_full');
      throw refused;
    }
    const { signal, done } = requestSignal(reply);
    try {
      return await admission.gateway.execute(() => work(signal), {
        signal,
        key: 'gateway',
        correlationId: request.correlationId,
      });
    } catch (error) {
      if ((error as BreakwaterError).code === Errors.bulkheadFull.code && !reply.sent && !reply.raw.headersSent)
        counters.rejected('admission');
      throw error;
    } finally {
      done();
    }
  };
}

/** Resolves when no request is in flight, or when `graceMs` have passed. */
export async function drained(admission: Admission, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  while (admission.stats().running + admission.stats().queued > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * A request that could only be refused is refused before a journal row is written (an outage
 * must not fill the journal with rejections): CIRCUIT_OPEN when every target is in an open break
 * (Retry-After: the shortest time left), BULKHEAD_REJECTED when every target that is not open
 * has its calls and its queue full.
 */
function refusedBeforeWork(route: Route, upstreams: Upstreams): BreakwaterError | undefined {
  let retryAfterMs = Infinity;
  let open = 0;
  for (const target of route.targets) {
    const { breaker, bulkhead } = upstreams.get(target.key);
    const snapshot = breaker.snapshot(target.key);
    if (snapshot.state === 'open' || snapshot.state === 'isolated') {
      open++;
      retryAfterMs = Math.min(retryAfterMs, snapshot.retryAfterMs ?? Infinity);
      continue;
    }
    if (bulkhead.running < bulkhead.maxConcurrent || bulkhead.queued < bulkhead.maxQueue) return undefined;
  }
  const details = { route: route.alias };
  if (open < route.targets.length)
    return Errors.bulkheadFull({
      message: `Every upstream of route ${route.alias} is at its limit.`,
      retryAfterMs: 1_000,
      details,
    });
  return Errors.circuitOpen({
    message: `Every target of route ${route.alias} is open.`,
    ...(Number.isFinite(retryAfterMs) ? { retryAfterMs } : {}),
    dependency: route.targets[0]!.key,
    details,
  });
}

/**
 * The request's signal: aborts when the client goes away (recorded as cancelled). The route's
 * time budget is its pipeline's `timeout()`. `done` releases the listener.
 */
function requestSignal(reply: FastifyReply): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished)
      controller.abort(Errors.cancelled({ message: 'The client closed the connection.' }));
  };
  reply.raw.on('close', onClose);
  return { signal: controller.signal, done: () => void reply.raw.off('close', onClose) };
}
