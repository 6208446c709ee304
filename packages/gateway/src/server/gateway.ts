import Fastify, { type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import { type BreakwaterError, createRedactor, Errors, Journal, type JournalStore } from 'breakwater';
import { toHttpError } from 'breakwater/http';
import { breakwaterFastify, breakwaterFastifyServerOptions } from 'breakwater/fastify';
import { breakwaterPinoOptions, pinoTelemetry } from 'breakwater/pino';
import { prometheusTelemetry } from 'breakwater/prometheus';
import { ConfigError } from '../config/load.js';
import type { GatewayConfig } from '../config/schema.js';
import { createUpstreamAgent } from '../upstream/call-target.js';
import { registerConsole } from '../console/console-routes.js';
import { RecentStats } from '../console/recent-stats.js';
import { ConsoleSessions } from '../console/sessions.js';
import { workerSessionReplication } from '../console/session-relay.js';
import { installAccessControl } from './access.js';
import { registerAdmin } from './admin.js';
import { createAdmission } from './admission.js';
import { gatewayMetrics } from './gateway-metrics.js';
import { startBreakerProbes } from './breaker-probes.js';
import { serverLimits } from './http-limits.js';
import { openJournalStore } from './journal-store.js';
import { openAIErrors } from './openai-errors.js';
import { routeForNeeds } from './capabilities.js';
import { genAITelemetry } from './genai-telemetry.js';
import { openSharedState, redisUrl } from './shared-state.js';
import { proxyJson } from './proxy-json.js';
import { notifyAll } from './request-outcome.js';
import { gatewayHealth } from './readiness.js';
import { drained, Maintenance, requestHandler } from './request-gate.js';
import type { Route } from './route.js';
import { buildState, unreloadable } from './routes-state.js';
import { streamChat } from './stream-chat.js';
import { awsCredentials, Upstreams } from './upstreams.js';

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
  refuseMissingKeys(config, env);
  const providerKeys = [
    ...Object.values(config.providers).flatMap((p) => [
      ...(p.apiKeyEnv && env[p.apiKeyEnv] ? [env[p.apiKeyEnv]!] : []),
      ...Object.values(p.headers),
    ]),
    // Bedrock signs with the AWS credentials: the secret and the session token never leave either.
    ...(Object.values(config.providers).some((p) => p.kind === 'bedrock')
      ? [env['AWS_SECRET_ACCESS_KEY'], env['AWS_SESSION_TOKEN']].filter((v): v is string => !!v)
      : []),
  ];
  // The provider keys, header values and the Redis password are known at start: they are removed from everything.
  const redactor = createRedactor({
    literals: [...providerKeys, ...redisPassword(config, env)].filter((value) => value.length >= 8),
  });
  const logger = options.logger ?? pino({ ...breakwaterPinoOptions(redactor), level: env['LOG_LEVEL'] ?? 'info' });
  // Every upstream's breaker is exported at each scrape, closed ones as 0.
  const metrics = prometheusTelemetry({ breakers: () => upstreams.snapshots() });
  // Breakers, route limits and the retry budget: shared with the other replicas or workers, if any.
  const shared = openSharedState(config, env, logger);
  await shared.ready;
  const render = openAIErrors(redactor);
  const admission = createAdmission(config.server);
  const counters = gatewayMetrics(metrics.registry, {
    inFlight: admission.stats,
    retryBudget: () => state.budget.available,
    journal: () => journal.health(),
    sharedState: () => shared.health(),
  });
  const journal = new Journal({
    store: options.journalStore ?? (await openJournalStore(config, logger)),
    redactor,
    writeTimeoutMs: config.journal.writeTimeoutMs,
    leaseMs: config.journal.leaseMs,
    retention: {
      succeeded: config.journal.retention.succeededMs,
      failed: config.journal.retention.failedMs,
      cancelled: config.journal.retention.cancelledMs,
    },
  });
  const journalMode = config.journal.onUnavailable;
  // What the console shows of the last minutes, and who is logged in to it.
  const recent = new RecentStats();
  // With server.workers, every worker knows every login: a connection may land on any of them.
  const sessions = new ConsoleSessions(Date.now, workerSessionReplication());
  const policy = {
    onJournalUnavailable: journalMode,
    content: config.journal.content,
    prices: config.prices,
    metrics: counters,
    finished: notifyAll([counters.request, genAITelemetry(metrics.registry), recent.record]),
    onRecordError: (error: BreakwaterError) =>
      logger.warn(
        { err: error, event: 'journal_record_failed', correlation_id: error.correlationId },
        `the outcome of a request could not be recorded: ${error.code}`,
      ),
  };
  const stopSweeper = journal.startSweeper(undefined, (error) =>
    logger.warn({ err: error, event: 'journal_sweep_failed' }, 'journal sweep failed'),
  );
  const agent = createUpstreamAgent(config.server.maxUpstreamResponseBytes);

  const telemetry = [pinoTelemetry(logger), metrics];
  // Breakers and limits per upstream: they outlive config reloads.
  const upstreams = new Upstreams(shared.store);
  // Everything a config reload replaces; requests in flight keep the routes they started with.
  let state = buildState(config, env, telemetry, agent, upstreams, shared.store);
  const stopProbes = startBreakerProbes(upstreams, agent);
  let draining = false;

  const app = Fastify({
    bodyLimit: config.server.bodyLimitBytes,
    ...serverLimits(config.server),
    ...breakwaterFastifyServerOptions({ render }),
  });
  app.server.maxConnections = config.server.maxConnections;
  app.addHook('onRequest', (_request, reply, done) => {
    if (!draining) return done();
    counters.rejected('draining');
    void reply.header('connection', 'close');
    done(Errors.serviceDraining({ message: 'The gateway is shutting down.', retryAfterMs: 1_000 }));
  });
  const throttle = installAccessControl(app, {
    clientKeys: () => state.clientKeys,
    adminKeySha256: config.admin?.keySha256,
    throttle: config.authThrottle,
    metrics: counters,
    consoleSession: (request) => sessions.fromCookie(request.headers.cookie) !== undefined,
  });
  await app.register(breakwaterFastify, {
    render,
    // No AsyncLocalStorage scope per request (its promise hooks cost ~10% of a request's CPU on
    // Node 20): the correlation id is passed to the journal, the pipelines and every log line.
    asyncContext: false,
    maxJsonDepth: config.server.maxJsonDepth,
    health: gatewayHealth({
      routes: () => state.routes.values(),
      upstreams,
      journal,
      journalCritical: journalMode === 'fail-closed',
      admission,
      sharedState: () => shared.health(),
    }),
    metrics: metrics.metrics,
    onError: (error: BreakwaterError, request: { method: string; path: string }) =>
      logger[error.logLevel](
        { err: error, correlation_id: error.correlationId, method: request.method, path: request.path },
        `request failed: ${error.code}`,
      ),
  });

  const client = { config: { access: 'client' as const } };
  const maintenance = new Maintenance();
  const handle = requestHandler(admission, counters, upstreams, maintenance);

  app.get('/v1/models', client, async () => ({
    object: 'list',
    data: [...state.routes.keys()].map((id) => ({ id, object: 'model', created: 0, owned_by: 'breakwater' })),
  }));

  app.post('/v1/chat/completions', client, async (request, reply) => {
    const body = ChatRequest.parse(request.body);
    const route = routeForNeeds(routeFor(state.routes, body.model), body);
    return handle(request, reply, route, (cancellation) =>
      body.stream
        ? streamChat({
            request,
            reply,
            route,
            body,
            journal,
            cancellation,
            logger,
            render,
            bounds: config.server,
            onMalformedEvent: (target) => {
              counters.malformedEvent(target);
              logger.warn(
                { event: 'stream_malformed_event', target, correlation_id: request.correlationId },
                `skipped a malformed stream event from ${target}`,
              );
            },
            policy,
          })
        : proxyJson(journal, policy, request, reply, {
            route,
            kind: 'chat.completions',
            call: 'chat',
            body,
            cancellation,
          }),
    );
  });

  app.post('/v1/embeddings', client, async (request, reply) => {
    const body = EmbeddingsRequest.parse(request.body);
    const route = routeFor(state.routes, body.model);
    return handle(request, reply, route, (cancellation) =>
      proxyJson(journal, policy, request, reply, { route, kind: 'embeddings', call: 'embeddings', body, cancellation }),
    );
  });

  const actionDeps = { journal, upstreams, maintenance, routes: () => state.routes.keys() };
  if (config.admin) {
    registerAdmin(app, actionDeps);
    registerConsole(app, {
      sessions,
      throttle,
      actions: actionDeps,
      redactor,
      snapshot: {
        upstreams,
        routes: () => state.routes.values(),
        maintenance,
        budget: () => state.budget,
        journal,
        stats: recent,
      },
    });
  }

  return {
    app,
    journal,
    get routes() {
      return state.routes;
    },
    reload(next: GatewayConfig): string[] {
      const warnings = unreloadable(config, next);
      const previous = state;
      state = buildState(next, env, telemetry, agent, upstreams, shared.store);
      previous.disconnectTelemetry();
      logger.info({ event: 'config_reloaded', routes: [...state.routes.keys()], warnings }, 'configuration reloaded');
      return warnings;
    },
    close: async () => {
      // Still listening while draining: new requests get a clear 503 (a load balancer moves them
      // elsewhere) instead of a refused connection, and those in flight finish within the grace.
      draining = true;
      stopSweeper();
      stopProbes();
      await drained(admission, config.server.shutdownGraceMs);
      const cut = setTimeout(() => app.server.closeAllConnections(), 100);
      cut.unref();
      await app.close();
      clearTimeout(cut);
      await agent.destroy();
      await journal.flushOutbox().catch(() => 0);
      await journal.close();
      upstreams.close();
      await shared.close();
    },
  };
}

/** A provider that names a key variable that is not set never starts silently unauthenticated. */
function refuseMissingKeys(config: GatewayConfig, env: Record<string, string | undefined>): void {
  const missing = Object.entries(config.providers)
    .filter(([, p]) => !p.apiKeyOptional)
    .flatMap(([name, p]) => {
      if (p.apiKeyEnv !== undefined && !env[p.apiKeyEnv])
        return [
          `providers.${name}.apiKeyEnv: ${p.apiKeyEnv} is not set in the environment; set it, or mark the provider apiKeyOptional: true`,
        ];
      if (p.kind === 'bedrock' && p.apiKeyEnv === undefined && !awsCredentials(env))
        return [
          `providers.${name}: Bedrock signs with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, which are not set; set them, name a Bedrock API key with apiKeyEnv, or mark the provider apiKeyOptional: true`,
        ];
      return [];
    });
  const redisEnv = config.state.redis?.urlEnv;
  if (redisEnv !== undefined && !env[redisEnv])
    missing.push(`state.redis.urlEnv: ${redisEnv} is not set in the environment; set it, or remove state.redis`);
  if (missing.length > 0) throw new ConfigError('(environment)', missing);
}

/** The password in `state.redis`'s URL, redacted like a provider key. */
function redisPassword(config: GatewayConfig, env: Record<string, string | undefined>): string[] {
  const url = redisUrl(config, env);
  if (!url) return [];
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password ? [password, url] : [];
  } catch {
    return [];
  }
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

export { toHttpError };
