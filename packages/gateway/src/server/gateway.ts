import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import {
  type BreakwaterError,
  circuitBreaker,
  consecutiveFailures,
  createRedactor,
  Errors,
  instrument,
  Journal,
  pipeline,
  retry,
  retryBudget,
  runOperation,
  timeout,
  toHttpError,
  type JournalStore,
} from 'breakwater';
import { breakwaterFastify, breakwaterFastifyServerOptions } from 'breakwater/fastify';
import { breakwaterPinoOptions, pinoTelemetry } from 'breakwater/pino';
import { prometheusTelemetry } from 'breakwater/prometheus';
import type { Agent } from 'undici';
import type { GatewayConfig, ServerConfig } from '../config/schema.js';
import { callJson, createUpstreamAgent, type ResolvedTarget } from '../upstream/call-target.js';
import { installAccessControl } from './access.js';
import { registerAdmin } from './admin.js';
import { createAdmission, type Admission } from './admission.js';
import { gatewayMetrics, type GatewayMetrics } from './gateway-metrics.js';
import { openJournalStore } from './journal-store.js';
import { openAIError } from './openai-errors.js';
import { gatewayHealth } from './readiness.js';
import { newProgress, runRoute, type Route, type RouteProgress } from './route-runner.js';
import { streamChat } from './stream-chat.js';

export interface GatewayOptions {
  logger?: Logger;
  /** Environment to read provider keys from. Default process.env. */
  env?: Record<string, string | undefined>;
  /** A journal store opened by the caller (embedding, tests); it replaces `config.journal`'s store. */
  journalStore?: JournalStore<unknown>;
}

export interface Gateway {
  app: FastifyInstance;
  journal: Journal<unknown>;
  readonly routes: Map<string, Route>;
  /**
   * Swaps routes, providers, client keys and the retry budget without dropping requests (those in
   * flight finish on the routes they started with). Returns warnings for settings that need a restart.
   */
  reload(config: GatewayConfig): string[];
  /**
   * Drains and stops: new requests get 503 SERVICE_DRAINING, those in flight get up to
   * `server.shutdownGraceMs` to finish, then the journal's outbox is flushed and the store closed.
   */
  close(): Promise<void>;
}

const ChatRequest = z.looseObject({
  model: z.string().min(1, 'is required'),
  messages: z.array(z.looseObject({ role: z.string(), content: z.unknown() })).min(1, 'needs at least one message'),
  stream: z.boolean().optional(),
});
const EmbeddingsRequest = z.looseObject({
  model: z.string().min(1, 'is required'),
  input: z.union([z.string(), z.array(z.unknown()).min(1)]),
});

export async function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const env = options.env ?? process.env;
  const providerKeys = Object.values(config.providers)
    .map((p) => (p.apiKeyEnv ? env[p.apiKeyEnv] : undefined))
    .filter((k): k is string => !!k);
  // The provider keys are known at start: they are removed from everything, whatever shape they have.
  const redactor = createRedactor({ literals: providerKeys });
  const logger = options.logger ?? pino({ ...breakwaterPinoOptions(redactor), level: env['LOG_LEVEL'] ?? 'info' });
  const metrics = prometheusTelemetry();
  const admission = createAdmission(config.server);
  const counters = gatewayMetrics(metrics.registry, admission.stats);
  const journal = new Journal({
    store: options.journalStore ?? (await openJournalStore(config, logger)),
    redactor,
    writeTimeoutMs: config.journal.writeTimeoutMs,
  });
  const journalMode = config.journal.onUnavailable;
  const stopSweeper = journal.startSweeper(undefined, (error) =>
    logger.warn({ err: error, event: 'journal_sweep_failed' }, 'journal sweep failed'),
  );
  const agent = createUpstreamAgent(config.server.maxUpstreamResponseBytes);

  const telemetry = [pinoTelemetry(logger), metrics];
  // Everything a config reload replaces; requests in flight keep the routes they started with.
  let state = buildState(config, env, telemetry, agent, admission);
  let draining = false;

  const app = Fastify({
    bodyLimit: config.server.bodyLimitBytes,
    ...serverLimits(config.server),
    ...breakwaterFastifyServerOptions({ render: openAIError }),
  });
  app.server.maxConnections = config.server.maxConnections;
  app.addHook('onRequest', async (_request, reply) => {
    if (!draining) return;
    counters.rejected('draining');
    void reply.header('connection', 'close');
    throw Errors.serviceDraining({ message: 'The gateway is shutting down.', retryAfterMs: 1_000 });
  });
  installAccessControl(app, {
    clientKeys: () => state.clientKeys,
    adminKeySha256: config.admin?.keySha256,
    throttle: config.authThrottle,
    metrics: counters,
  });
  await app.register(breakwaterFastify, {
    render: openAIError,
    maxJsonDepth: config.server.maxJsonDepth,
    health: gatewayHealth({
      routes: () => state.routes.values(),
      journal,
      journalCritical: journalMode === 'fail-closed',
      admission,
    }),
    metrics: metrics.metrics,
    onError: (error: BreakwaterError, request: { method: string; path: string }) =>
      logger[error.logLevel](
        { err: error, method: request.method, path: request.path },
        `request failed: ${error.code}`,
      ),
  });

  const client = { config: { access: 'client' as const } };
  const handle = requestHandler(admission, counters);

  app.get('/v1/models', client, async () => ({
    object: 'list',
    data: [...state.routes.keys()].map((id) => ({ id, object: 'model', created: 0, owned_by: 'breakwater' })),
  }));

  app.post('/v1/chat/completions', client, async (request, reply) => {
    const body = ChatRequest.parse(request.body);
    const route = routeFor(state.routes, body.model);
    return handle(request, reply, route, (signal) =>
      body.stream
        ? streamChat({
            request,
            reply,
            route,
            body,
            journal,
            signal,
            progress: newProgress(),
            logger,
            bounds: config.server,
            onJournalUnavailable: journalMode,
          })
        : proxyJson(request, reply, route, 'chat.completions', '/chat/completions', body, signal),
    );
  });

  app.post('/v1/embeddings', client, async (request, reply) => {
    const body = EmbeddingsRequest.parse(request.body);
    const route = routeFor(state.routes, body.model);
    return handle(request, reply, route, (signal) =>
      proxyJson(request, reply, route, 'embeddings', '/embeddings', body, signal),
    );
  });

  /** A non-streaming call along a route, journaled as one operation of `kind`. */
  const proxyJson = async (
    request: FastifyRequest,
    reply: FastifyReply,
    route: Route,
    kind: string,
    path: string,
    body: Record<string, unknown>,
    signal: AbortSignal,
  ) => {
    const progress = newProgress();
    try {
      let result: Record<string, unknown> = {};
      await runOperation(
        journal,
        kind,
        async (op) => {
          result = await runRoute(
            route,
            (target, s) => callJson(target, path, body, s, request.correlationId),
            signal,
            progress,
            request.correlationId,
          );
          op.attempts = progress.attempts;
          return summary(progress, result);
        },
        {
          correlationId: request.correlationId,
          metadata: { model: body['model'], stream: false },
          signal,
          onJournalUnavailable: journalMode,
        },
      );
      return reply.headers(progressHeaders(progress)).send(result);
    } catch (error) {
      // A failure too says which target failed last and how often it was tried.
      void reply.headers(progressHeaders(progress));
      throw error;
    }
  };

  if (config.admin) registerAdmin(app, journal, () => [...state.routes.values()].flatMap((r) => r.breaker.snapshots()));

  return {
    app,
    journal,
    get routes() {
      return state.routes;
    },
    reload(next: GatewayConfig): string[] {
      const warnings = unreloadable(config, next);
      state = buildState(next, env, telemetry, agent, admission);
      logger.info({ event: 'config_reloaded', routes: [...state.routes.keys()], warnings }, 'configuration reloaded');
      return warnings;
    },
    close: async () => {
      // Still listening while draining: new requests get a clear 503 (a load balancer moves them
      // elsewhere) instead of a refused connection, and those in flight finish within the grace.
      draining = true;
      stopSweeper();
      await drained(admission, config.server.shutdownGraceMs);
      const cut = setTimeout(() => app.server.closeAllConnections(), 100);
      cut.unref();
      await app.close();
      clearTimeout(cut);
      await agent.destroy();
      await journal.flushOutbox().catch(() => 0);
      await journal.close();
    },
  };
}

/**
 * Every request to an upstream goes through here: fail fast (no journal row) when every target's
 * breaker is open, then the gateway's admission bulkhead, then the work under the request's signal
 * (client gone → cancelled; the route's total time → timeout).
 */
function requestHandler(admission: Admission, counters: GatewayMetrics) {
  return async (
    request: FastifyRequest,
    reply: FastifyReply,
    route: Route,
    work: (signal: AbortSignal) => Promise<unknown>,
  ): Promise<unknown> => {
    const refused = refusedBeforeWork(route);
    if (refused) {
      counters.rejected(refused.code === Errors.circuitOpen.code ? 'all_targets_open' : 'all_targets_full');
      throw refused;
    }
    const { signal, done } = requestSignal(request, reply, route.config.totalTimeoutMs);
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
async function drained(admission: Admission, graceMs: number): Promise<void> {
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
function refusedBeforeWork(route: Route): BreakwaterError | undefined {
  let retryAfterMs = Infinity;
  let open = 0;
  for (const [i, target] of route.targets.entries()) {
    const snapshot = route.breaker.snapshot(target.key);
    if (snapshot.state === 'open' || snapshot.state === 'isolated') {
      open++;
      retryAfterMs = Math.min(retryAfterMs, snapshot.retryAfterMs ?? Infinity);
      continue;
    }
    const bulkhead = route.bulkheads[i]!;
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

/** Client-side bounds on the HTTP server: headers, body, keep-alive (timeouts answered 408). */
function serverLimits(server: ServerConfig) {
  return {
    requestTimeout: server.requestTimeoutMs,
    keepAliveTimeout: server.keepAliveTimeoutMs,
    // fastify's own 503 body while closing is replaced by our SERVICE_DRAINING in the gateway's shape.
    return503OnClosing: false,
    http: {
      headersTimeout: server.headersTimeoutMs,
      requestTimeout: server.requestTimeoutMs,
      // Node checks those timeouts on this interval (30 s by default): check often enough to honour them.
      connectionsCheckingInterval: Math.min(1_000, server.headersTimeoutMs),
    },
  };
}

export function progressHeaders(progress: RouteProgress): Record<string, string> {
  return {
    ...(progress.target ? { 'x-breakwater-target': progress.target.key } : {}),
    'x-breakwater-attempts': String(progress.attempts),
    ...(progress.fellBackFrom.length ? { 'x-breakwater-fallback-from': progress.fellBackFrom.join(', ') } : {}),
  };
}

function summary(progress: RouteProgress, response: Record<string, unknown>) {
  return {
    target: progress.target?.key,
    attempts: progress.attempts,
    fellBackFrom: progress.fellBackFrom,
    usage: response['usage'] ?? null,
  };
}

type TelemetrySinks = Parameters<typeof instrument>[1][];

/** Routes with their pipelines and breakers, client keys: what a reload rebuilds. */
function buildState(
  config: GatewayConfig,
  env: Record<string, string | undefined>,
  telemetry: TelemetrySinks,
  dispatcher: Agent,
  admission: Admission,
) {
  const budget = retryBudget({ ratio: config.retryBudget.ratio, minPerSecond: config.retryBudget.minPerSecond });
  const routes = new Map<string, Route>();
  for (const [alias, route] of Object.entries(config.routes)) {
    const breaker = circuitBreaker({
      strategy: consecutiveFailures(route.breaker.failures),
      breakMs: route.breaker.breakMs,
    });
    const targets: ResolvedTarget[] = route.targets.map((t) => {
      const provider = config.providers[t.provider]!;
      return {
        ...t,
        baseUrl: provider.baseUrl,
        apiKey: provider.apiKeyEnv ? env[provider.apiKeyEnv] : undefined,
        key: `${t.provider}:${t.model}`,
        dispatcher,
      };
    });
    const bulkheads = targets.map((target) => admission.upstream(target.key, config.providers[target.provider]!));
    const pipelines = targets.map((_, i) =>
      pipeline(
        // A full upstream is not retried on the same target: the route moves on at once.
        retry({ maxAttempts: route.retry.maxAttempts, budget, retryOn: retriedOnSameTarget }),
        // Outside the breaker: our own concurrency limit is not the upstream's failure.
        bulkheads[i]!,
        breaker,
        timeout(route.attemptTimeoutMs),
      ),
    );
    pipelines.forEach((p) => instrument(p, ...telemetry));
    routes.set(alias, { alias, config: route, targets, pipelines, breaker, bulkheads });
  }
  return { routes, clientKeys: config.clients.map((c) => Buffer.from(c.keySha256, 'hex')) };
}

function retriedOnSameTarget(error: BreakwaterError): boolean {
  return error.retryable && error.code !== Errors.bulkheadFull.code;
}

/** Settings a reload cannot change in a running process. */
function unreloadable(current: GatewayConfig, next: GatewayConfig): string[] {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  return [
    ...(same(current.server, next.server) ? [] : ['server: listener, limits and timeouts change only on restart']),
    ...(same(current.journal, next.journal) ? [] : ['journal: the store changes only on restart']),
    ...(same(current.admin, next.admin) ? [] : ['admin: the admin key changes only on restart']),
    ...(same(current.authThrottle, next.authThrottle) ? [] : ['authThrottle: changes only on restart']),
  ];
}

function routeFor(routes: Map<string, Route>, model: string): Route {
  const route = routes.get(model);
  if (!route) {
    throw Errors.notFound({
      message: `No route for model ${model}.`,
      userMessage: `The model '${model}' does not exist. Available: ${[...routes.keys()].join(', ')}.`,
      details: { model },
    });
  }
  return route;
}

/**
 * The request's signal: aborts when the client goes away (recorded as cancelled) or the route's
 * total time is up. `done` releases the timer and listener.
 */
export function requestSignal(
  request: FastifyRequest,
  reply: FastifyReply,
  totalTimeoutMs: number,
): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished)
      controller.abort(Errors.cancelled({ message: 'The client closed the connection.' }));
  };
  reply.raw.on('close', onClose);
  const timer = setTimeout(
    () => controller.abort(Errors.timeout({ message: `The request took longer than ${totalTimeoutMs} ms in all.` })),
    totalTimeoutMs,
  );
  timer.unref();
  return {
    signal: controller.signal,
    done: () => {
      clearTimeout(timer);
      reply.raw.off('close', onClose);
    },
  };
}

export { toHttpError };
