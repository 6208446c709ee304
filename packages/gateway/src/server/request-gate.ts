import type { FastifyReply, FastifyRequest } from 'fastify';
import { Cancellation, Errors, type BreakwaterError } from 'breakwater';
import type { Admission } from './admission.js';
import type { GatewayMetrics, RejectionReason } from './gateway-metrics.js';
import type { Route } from './route.js';
import type { OperatorMark, Upstreams } from './upstreams.js';

/** How long a client is told to wait when a route is in maintenance or every target is drained. */
const MAINTENANCE_RETRY_AFTER_MS = 30_000;

const REJECTION_REASON: Record<string, RejectionReason> = {
  [Errors.circuitOpen.code]: 'all_targets_open',
  [Errors.bulkheadFull.code]: 'all_targets_full',
  [Errors.allAlternativesDisabled.code]: 'all_targets_drained',
};

/** Routes an operator put in maintenance: new requests get 503 + Retry-After, those in flight finish. */
export class Maintenance {
  private readonly routes = new Map<string, OperatorMark>();

  begin(alias: string, by: string): void {
    this.routes.set(alias, { by, at: Date.now() });
  }

  end(alias: string): void {
    this.routes.delete(alias);
  }

  of(alias: string): OperatorMark | undefined {
    return this.routes.get(alias);
  }
}

/**
 * Every request to an upstream goes through here: a route in maintenance is refused, fail fast (no journal row) when every target's
 * breaker is open, then the gateway's admission bulkhead, then the work under the request's signal
 * (client gone → cancelled; the route's total time → timeout).
 */
export function requestHandler(
  admission: Admission,
  counters: GatewayMetrics,
  upstreams: Upstreams,
  maintenance: Maintenance,
) {
  return async (
    request: FastifyRequest,
    reply: FastifyReply,
    route: Route,
    work: (cancellation: Cancellation) => Promise<unknown>,
  ): Promise<unknown> => {
    if (maintenance.of(route.alias)) {
      counters.rejected('maintenance');
      throw Errors.serviceDraining({
        message: `The model ${route.alias} is in maintenance.`,
        userMessage: `The model '${route.alias}' is in maintenance; retry later.`,
        retryAfterMs: MAINTENANCE_RETRY_AFTER_MS,
        details: { route: route.alias },
      });
    }
    if (route.limiter) await rateLimited(route, counters);
    const refused = refusedBeforeWork(route, upstreams);
    if (refused) {
      counters.rejected(REJECTION_REASON[refused.code] ?? 'all_targets_full');
      throw refused;
    }
    const { cancellation, done } = requestCancellation(reply);
    try {
      return await admission.gateway.execute(() => work(cancellation), {
        signal: cancellation,
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

/** The route's own limit, before any journal row or upstream call: 429 + Retry-After past it. */
async function rateLimited(route: Route, counters: GatewayMetrics): Promise<void> {
  const taken = route.limiter!.acquire(route.alias);
  const waitMs = typeof taken === 'number' ? taken : await taken;
  if (waitMs === 0) return;
  counters.rejected('rate_limited');
  throw Errors.rateLimiterRejected({
    message: `Route ${route.alias} is at its rate limit.`,
    userMessage: `The model '${route.alias}' is at its rate limit; retry after the time given.`,
    retryAfterMs: waitMs,
    details: { route: route.alias },
  });
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
  let drained = 0;
  for (const target of route.targets) {
    if (upstreams.drained(target.key)) {
      drained++;
      continue;
    }
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
  if (drained === route.targets.length)
    return Errors.allAlternativesDisabled({
      message: `Every target of route ${route.alias} is drained by an operator.`,
      userMessage: `Every upstream of the model '${route.alias}' is drained for maintenance; retry later.`,
      retryAfterMs: MAINTENANCE_RETRY_AFTER_MS,
      details,
    });
  if (open + drained < route.targets.length)
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
 * The request's cancellation: aborts when the client goes away (recorded as cancelled). The route's
 * time budget is its pipeline's `timeout()`. The journaled operation adopts it (`runOperation`'s
 * `controller`) rather than linking one of its own. A `Cancellation`, not an AbortController: no
 * AbortSignal is made for the request (each one survives the young-generation GCs on Node 20, see
 * `CallContext`); the attempt's cancellation goes to undici as is. `done` releases the listener.
 */
function requestCancellation(reply: FastifyReply): { cancellation: Cancellation; done: () => void } {
  const cancellation = new Cancellation();
  const onClose = (): void => {
    if (!reply.raw.writableFinished)
      cancellation.abort(Errors.cancelled({ message: 'The client closed the connection.' }));
  };
  reply.raw.on('close', onClose);
  return { cancellation, done: () => void reply.raw.off('close', onClose) };
}
