import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import {
  type BreakwaterError,
  CallTrail,
  createRedactor,
  Errors,
  instrument,
  Journal,
  retryBudget,
  runOperation,
  type JournalStore,
  type TelemetrySink,
} from 'breakwater';
import { toHttpError } from 'breakwater/http';
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
import { openAIErrors } from './openai-errors.js';
import { gatewayHealth } from './readiness.js';
import { buildRoute, trailHeaders, trailSummary, type Route } from './route.js';
import { streamChat } from './stream-chat.js';
import { Upstreams } from './upstreams.js';

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
  const render = openAIErrors(redactor);
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
  // Breakers and limits per upstream: they outlive config reloads.
  const upstreams = new Upstreams();
  // Everything a config reload replaces; requests in flight keep the routes they started with.
  let state = buildState(config, env, telemetry, agent, upstreams);
  let draining = false;

  const app = Fastify({
    bodyLimit: config.server.bodyLimitBytes,
    ...serverLimits(config.server),
    ...breakwaterFastifyServerOptions({ render }),
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
    render,
    maxJsonDepth: config.server.maxJsonDepth,
    health: gatewayHealth({
      routes: () => state.routes.values(),
      upstreams,
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
  const handle = requestHandler(admission, counters, upstreams);

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
            logger,
            render,
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
  };

  if (config.admin) registerAdmin(app, journal, () => upstreams.snapshots());

  return {
    app,
    journal,
    get routes() {
      return state.routes;
    },
    reload(next: GatewayConfig): string[] {
      const warnings = unreloadable(config, next);
      const previous = state;
      state = buildState(next, env, telemetry, agent, upstreams);
      previous.disconnectTelemetry();
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
function requestHandler(admission: Admission, counters: GatewayMetrics, upstreams: Upstreams) {
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

/** Routes built from the config, client keys: what a reload rebuilds (upstream breakers stay). */
function buildState(
  config: GatewayConfig,
  env: Record<string, string | undefined>,
  telemetry: TelemetrySink[],
  dispatcher: Agent,
  upstreams: Upstreams,
) {
  upstreams.update(config);
  const budget = retryBudget({ ratio: config.retryBudget.ratio, minPerSecond: config.retryBudget.minPerSecond });
  const routes = new Map<string, Route>();
  for (const [alias, route] of Object.entries(config.routes)) {
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
    routes.set(alias, buildRoute(alias, route, targets, upstreams, budget));
  }
  // One wiring for every policy of every route: an upstream's breaker shared by three routes
  // reports each transition once.
  const disconnectTelemetry = instrument({ policies: [...routes.values()].map((r) => r.pipeline) }, ...telemetry);
  return { routes, clientKeys: config.clients.map((c) => Buffer.from(c.keySha256, 'hex')), disconnectTelemetry };
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

export { toHttpError };
