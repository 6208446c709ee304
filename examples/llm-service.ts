// An LLM-backed endpoint using all of breakwater: Fastify with the breakwater plugin, pino logs,
// Prometheus metrics, health checks, a policy pipeline around the openai SDK, a Redis cache, and
// a Postgres journal whose success commits together with the service's own write.
//
//   node --conditions=breakwater-source --import tsx examples/llm-service.ts --demo
//
// Needs Redis (REDIS_URL, default 127.0.0.1:6379) and Postgres (POSTGRES_URL, default database
// `test`). With --demo it starts a simulated provider, sends itself a few requests, prints what a
// client sees, and exits. Without it, it serves on PORT (default 3000).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import pg from 'pg';
import pino from 'pino';
import { z } from 'zod';
import {
  type BreakwaterError,
  circuitBreaker,
  createHealth,
  fallback,
  instrument,
  Journal,
  pipeline,
  retry,
  retryBudget,
  runOperation,
  timeout,
} from 'breakwater';
import { degradationSignals } from 'breakwater/agent';
import { breakwaterFastify, breakwaterFastifyServerOptions } from 'breakwater/fastify';
import { PostgresJournalStore } from 'breakwater/journal-postgres';
import { breakwaterPinoOptions, pinoTelemetry } from 'breakwater/pino';
import { prometheusTelemetry } from 'breakwater/prometheus';

const demo = process.argv.includes('--demo');
const logger = pino({ ...breakwaterPinoOptions(), level: demo ? 'silent' : 'info' });
const metrics = prometheusTelemetry();

// --- dependencies -------------------------------------------------------------------------------
const provider = demo ? await startSimulatedProvider() : undefined;
const openai = new OpenAI({
  apiKey: process.env.OPENAI_API_KEY ?? 'sk-demo-not-a-real-key-000000',
  baseURL: provider?.url ?? process.env.OPENAI_BASE_URL,
  maxRetries: 0, // breakwater retries, once, with a budget: the SDK must not retry underneath
});
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: 1,
  lazyConnect: true,
});
const pool = new pg.Pool({
  connectionString: process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  max: 5,
});
await redis.connect();
const table = `example_summaries_${process.pid}`;
await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (id serial PRIMARY KEY, text_hash text, summary text NOT NULL)`);
const store = new PostgresJournalStore(pool, { table: `example_operations_${process.pid}` });
await store.migrate();
const journal = new Journal({ store });
const stopSweeper = journal.startSweeper();

// --- policies -----------------------------------------------------------------------------------
const llmBreaker = circuitBreaker({ breakMs: 5_000 });
const llm = pipeline(
  fallback({
    when: ['overloaded', 'network', 'timeout', 'upstream_server', 'circuit_open'],
    use: () => 'Summary unavailable right now; here is the first sentence instead.',
    reason: 'first_sentence',
  }),
  timeout(10_000),
  retry({ maxAttempts: 3, budget: retryBudget({ ratio: 0.1 }) }),
  llmBreaker,
  timeout(3_000),
);
const cache = pipeline(retry({ maxAttempts: 2 }), circuitBreaker(), timeout(200));
instrument(llm, pinoTelemetry(logger), metrics);
instrument(cache, pinoTelemetry(logger), metrics);

const health = createHealth({
  serviceId: 'summaries',
  dependencies: [
    { name: 'postgres', check: () => pool.query('SELECT 1') },
    { name: 'redis', critical: false, check: () => redis.ping() },
    {
      name: 'llm',
      critical: false,
      check: async () => undefined,
      breaker: { policy: llmBreaker, key: 'openai:gpt-4o-mini' },
    },
  ],
  extra: [() => ({ name: 'journal', status: journal.health().status })],
});

// --- the endpoint -------------------------------------------------------------------------------
const app = Fastify({ ...breakwaterFastifyServerOptions() });
await app.register(breakwaterFastify, {
  health,
  metrics: metrics.metrics,
  onError: (error: BreakwaterError) => logger[error.logLevel]({ err: error }, 'request failed'),
});
const SummaryRequest = z.object({
  text: z.string().min(20).max(20_000),
  style: z.enum(['short', 'bullets']).default('short'),
});

app.post('/v1/summaries', async (request, reply) => {
  const { text, style } = SummaryRequest.parse(request.body);
  const key = `summary:${style}:${hash(text)}`;
  const cached = await cache.execute(() => redis.get(key), { key: 'redis' }).catch(() => null); // the cache failing is not the request failing
  if (cached) return { summary: cached, cached: true };

  let degraded: ReturnType<typeof degradationSignals>['field'] = {};
  const summary = await runOperation(
    journal,
    'summarise',
    async (op) => {
      const { value, ctx } = await llm.executeWithContext(
        async (call) => {
          const completion = await openai.chat.completions.create(
            { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Summarise (${style}): ${text}` }] },
            { signal: call.signal },
          );
          return completion.choices[0]?.message.content ?? '';
        },
        { key: 'openai:gpt-4o-mini', signal: op.signal, correlationId: request.correlationId },
      );
      op.attempts = ctx.attempt;
      const signals = degradationSignals(ctx.degraded);
      degraded = signals.field;
      void reply.headers(signals.headers);
      return value;
    },
    {
      correlationId: request.correlationId,
      idempotencyKey: request.headers['idempotency-key'] as string | undefined,
      // The service's own write commits in the same transaction as the journal's `succeeded`.
      join: (tx, result) => tx.query(`INSERT INTO ${table} (text_hash, summary) VALUES ($1, $2)`, [hash(text), result]),
    },
  );
  await cache.execute(() => redis.set(key, summary, 'EX', 3600), { key: 'redis' }).catch(() => undefined);
  return { summary, cached: false, ...degraded };
});

await app.listen({ port: demo ? 0 : Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
logger.info(`listening on ${base}`);

if (demo) {
  const text = `Breakwater classifies every failure once and decides retries, breakers and responses by category. ${Date.now()}`;
  const show = async (label: string, init: RequestInit, path = '/v1/summaries') => {
    const res = await fetch(`${base}${path}`, init);
    console.log(
      `${label}: ${res.status} ${res.headers.get('x-breakwater-degraded') ? `(degraded: ${res.headers.get('x-breakwater-degraded')}) ` : ''}${(await res.text()).slice(0, 300)}`,
    );
  };
  const post = (body: unknown) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await show('summary (the provider rate-limits once, then answers)', post({ text }));
  await show('same text again (from the Redis cache)', post({ text }));
  await show('invalid input (every field at once)', post({ text: 'short', style: 'poem' }));
  provider!.mode = 'down';
  await show('provider down (fallback, marked degraded)', post({ text: `${text} again` }));
  await show('readiness', {}, '/health/ready');
  const ops = await journal.query({ kind: 'summarise' });
  console.log(`journal: ${ops.map((o) => `${o.status}(attempts ${o.attempts})`).join(', ')}`);
  const rows = await pool.query(`SELECT count(*)::int AS n FROM ${table}`);
  console.log(`summaries written with the journal: ${rows.rows[0].n}`);
  console.log(`provider received ${provider!.received} requests`);
  await pool.query(`DROP TABLE IF EXISTS ${table}, example_operations_${process.pid}`);
  stopSweeper();
  await app.close();
  await redis.quit();
  await pool.end();
  provider!.close();
}

function hash(text: string): string {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(31, h) + text.charCodeAt(i)) | 0;
  return (h >>> 0).toString(16);
}

/** An OpenAI-compatible stand-in: one 429 with retry-after-ms, then answers; or down (503). */
async function startSimulatedProvider() {
  let received = 0;
  const state = { mode: 'normal' as 'normal' | 'down' };
  const server = createServer((req, res) => {
    received++;
    req.resume();
    req.on('end', () => {
      if (state.mode === 'down') {
        res
          .writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' })
          .end(JSON.stringify({ error: { message: 'overloaded', type: 'server_error' } }));
      } else if (received === 1) {
        res
          .writeHead(429, { 'content-type': 'application/json', 'retry-after-ms': '50' })
          .end(JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests' } }));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id: 'c',
            object: 'chat.completion',
            created: 1,
            model: 'gpt-4o-mini',
            choices: [
              {
                index: 0,
                finish_reason: 'stop',
                message: { role: 'assistant', content: 'Classify once; decide by category.' },
              },
            ],
          }),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    get received() {
      return received;
    },
    set mode(mode: 'normal' | 'down') {
      state.mode = mode;
    },
    close: () => server.close(),
  };
}
