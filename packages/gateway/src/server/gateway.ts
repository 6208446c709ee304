import { createHash, timingSafeEqual } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import pg from 'pg';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import {
  type BreakwaterError,
  circuitBreaker,
  consecutiveFailures,
  createHealth,
  createRedactor,
  Errors,
  instrument,
  Journal,
  MemoryJournalStore,
  pipeline,
  retry,
  retryBudget,
  runOperation,
  timeout,
  toHttpError,
  type JournalStore,
} from 'breakwater';
import { breakwaterFastify, breakwaterFastifyServerOptions } from 'breakwater/fastify';
import { SqliteJournalStore } from 'breakwater/journal-sqlite';
import { PostgresJournalStore } from 'breakwater/journal-postgres';
import { breakwaterPinoOptions, pinoTelemetry } from 'breakwater/pino';
import { prometheusTelemetry } from 'breakwater/prometheus';
import type { GatewayConfig } from '../config/schema.js';
import { callJson, type ResolvedTarget } from '../upstream/call-target.js';
import { openAIError } from './openai-errors.js';
import { newProgress, runRoute, type Route, type RouteProgress } from './route-runner.js';
import { streamChat } from './stream-chat.js';

export interface GatewayOptions {
  logger?: Logger;
  /** Environment to read provider keys from. Default process.env. */
  env?: Record<string, string | undefined>;
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
  const journal = new Journal({ store: await openJournalStore(config), redactor });
  const stopSweeper = journal.startSweeper();

  const telemetry = [pinoTelemetry(logger), metrics];
  // Everything a config reload replaces; requests in flight keep the routes they started with.
  let state = buildState(config, env, telemetry);
  const health = createHealth({
    serviceId: 'breakwater-gateway',
    dependencies: () =>
      [...state.routes.values()].flatMap((route) =>
        route.targets.map((target) => ({
          name: `${route.alias}/${target.key}`,
          critical: false,
          check: async () => undefined,
          breaker: { policy: route.breaker, key: target.key },
        })),
      ),
    extra: [() => ({ name: `journal:${journal.store.name}`, status: journal.health().status })],
  });

  const app = Fastify({
    bodyLimit: config.server.bodyLimitBytes,
    ...breakwaterFastifyServerOptions({ render: openAIError }),
  });
  await app.register(breakwaterFastify, {
    render: openAIError,
    health,
    metrics: metrics.metrics,
    onError: (error: BreakwaterError, request: { method: string; path: string }) =>
      logger[error.logLevel](
        { err: error, method: request.method, path: request.path },
        `request failed: ${error.code}`,
      ),
  });

  app.addHook('preHandler', async (request) => {
    if (request.url.startsWith('/v1/')) state.authenticate(request);
  });

  app.get('/v1/models', async () => ({
    object: 'list',
    data: [...state.routes.keys()].map((id) => ({ id, object: 'model', created: 0, owned_by: 'breakwater' })),
  }));

  /** A non-streaming call along a route, journaled as one operation of `kind`. */
  const proxyJson = async (
    request: FastifyRequest,
    reply: FastifyReply,
    route: Route,
    kind: string,
    path: string,
    body: Record<string, unknown>,
  ) => {
    const { signal, done } = requestSignal(request, reply, route.config.totalTimeoutMs);
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
        { correlationId: request.correlationId, metadata: { model: body['model'], stream: false }, signal },
      );
      return reply.headers(progressHeaders(progress)).send(result);
    } catch (error) {
      // A failure too says which target failed last and how often it was tried.
      void reply.headers(progressHeaders(progress));
      throw error;
    } finally {
      done();
    }
  };

  app.post('/v1/chat/completions', async (request, reply) => {
    const body = ChatRequest.parse(request.body);
    const route = routeFor(state.routes, body.model);
    if (!body.stream) return proxyJson(request, reply, route, 'chat.completions', '/chat/completions', body);
    const { signal, done } = requestSignal(request, reply, route.config.totalTimeoutMs);
    return streamChat({ request, reply, route, body, journal, signal, done, progress: newProgress(), logger });
  });

  app.post('/v1/embeddings', async (request, reply) => {
    const body = EmbeddingsRequest.parse(request.body);
    return proxyJson(request, reply, routeFor(state.routes, body.model), 'embeddings', '/embeddings', body);
  });

  if (config.admin)
    registerAdmin(app, config.admin.keySha256, journal, () => [...state.routes.values()].map((r) => r.breaker));

  return {
    app,
    journal,
    get routes() {
      return state.routes;
    },
    reload(next: GatewayConfig): string[] {
      const warnings = unreloadable(config, next);
      state = buildState(next, env, telemetry);
      logger.info({ event: 'config_reloaded', routes: [...state.routes.keys()], warnings }, 'configuration reloaded');
      return warnings;
    },
    close: async () => {
      stopSweeper();
      await app.close();
      await journal.close();
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

/** Routes with their pipelines and breakers, client authentication: what a reload rebuilds. */
function buildState(config: GatewayConfig, env: Record<string, string | undefined>, telemetry: TelemetrySinks) {
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
      };
    });
    const pipelines = targets.map(() =>
      pipeline(retry({ maxAttempts: route.retry.maxAttempts, budget }), breaker, timeout(route.attemptTimeoutMs)),
    );
    pipelines.forEach((p) => instrument(p, ...telemetry));
    routes.set(alias, { alias, config: route, targets, pipelines, breaker });
  }
  return { routes, authenticate: clientAuthenticator(config) };
}

/** Settings a reload cannot change in a running process. */
function unreloadable(current: GatewayConfig, next: GatewayConfig): string[] {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  return [
    ...(same(current.server, next.server) ? [] : ['server: host, port and body limit change only on restart']),
    ...(same(current.journal, next.journal) ? [] : ['journal: the store changes only on restart']),
    ...(same(current.admin, next.admin) ? [] : ['admin: the admin key changes only on restart']),
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

function clientAuthenticator(config: GatewayConfig): (request: FastifyRequest) => void {
  const hashes = config.clients.map((c) => Buffer.from(c.keySha256, 'hex'));
  return (request) => {
    if (hashes.length === 0) return;
    const header = request.headers.authorization ?? '';
    const key = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    const digest = createHash('sha256').update(key).digest();
    if (!key || !hashes.some((h) => timingSafeEqual(h, digest))) {
      throw Errors.unauthenticated({ userMessage: 'Missing or invalid API key. Send `Authorization: Bearer <key>`.' });
    }
  };
}

function registerAdmin(
  app: FastifyInstance,
  keySha256: string,
  journal: Journal<unknown>,
  breakers: () => Array<ReturnType<typeof circuitBreaker>>,
): void {
  const expected = Buffer.from(keySha256, 'hex');
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/admin/')) return;
    const key = String(request.headers['x-admin-key'] ?? '');
    if (!key || !timingSafeEqual(expected, createHash('sha256').update(key).digest()))
      throw Errors.unauthenticated({ userMessage: 'Admin key required (x-admin-key).' });
  });
  const Query = z.object({
    status: z.enum(['pending', 'running', 'succeeded', 'failed', 'cancelled']).optional(),
    kind: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(50),
  });
  app.get('/admin/operations', async (request) => ({ data: await journal.query(Query.parse(request.query)) }));
  app.get('/admin/operations/:id', async (request) => {
    const operation = await journal.get((request.params as { id: string }).id);
    if (!operation) throw Errors.notFound({ userMessage: 'No such operation.' });
    return operation;
  });
  app.get('/admin/breakers', async () => ({ data: breakers().flatMap((b) => b.snapshots()) }));
}

async function openJournalStore(config: GatewayConfig): Promise<JournalStore<unknown>> {
  const journal = config.journal;
  if ('memory' in journal) return new MemoryJournalStore() as JournalStore<unknown>;
  if ('sqlite' in journal) return new SqliteJournalStore(new BetterSqlite3(journal.sqlite)) as JournalStore<unknown>;
  const store = new PostgresJournalStore(new pg.Pool({ connectionString: journal.postgres, max: 10 }));
  await store.migrate();
  return store as JournalStore<unknown>;
}

export { toHttpError };
