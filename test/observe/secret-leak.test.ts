import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { z } from 'zod';
import {
  type BreakwaterError,
  circuitBreaker,
  classifyResponse,
  consecutiveFailures,
  constantBackoff,
  createRedactor,
  instrument,
  Journal,
  pipeline,
  retry,
  runOperation,
  timeout,
} from 'breakwater';
import { breakwaterFastify } from 'breakwater/fastify';
import { breakwaterPinoOptions, pinoTelemetry } from 'breakwater/pino';
import { prometheusTelemetry } from 'breakwater/prometheus';
import { SqliteJournalStore } from 'breakwater/journal-sqlite';
import { freePort } from '../support/free-port.js';
import { startScriptedServer, type Scripted, type ScriptedServer } from '../support/scripted-server.js';

// Seeded fake secrets, each in a different place a real service leaks them from.
const SECRETS = {
  providerKey: 'sk-proj-LEAKMATRIXkey0123456789abcd', // our key to the upstream, in Authorization and echoed in its error body
  urlKey: 'AIzaSyLEAKMATRIXurlKEY987654', // in the upstream URL's query string
  awsKey: 'AKIALEAKMATRIX1234567', // in an upstream error body
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsZWFrbWF0cml4In0.bGVha21hdHJpeHNpZ25hdHVyZQ', // the caller's own Authorization header
  bodyKey: 'user-pasted-secret-LEAKMATRIX-555', // in the caller's request body, under api_key
  dbPassword: 'LEAKMATRIX-db-password-77', // in a connection string inside an exception
  envKey: 'literal-from-env-LEAKMATRIX-31337', // a literal key known at start-up, appearing raw
};

const SCENARIOS: Record<string, Scripted | 'closed' | 'crash' | 'isolated' | 'aborted'> = {
  authentication: {
    status: 401,
    body: {
      error: {
        message: `Incorrect API key provided: ${SECRETS.providerKey}`,
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      },
    },
  },
  permission: {
    status: 403,
    body: { error: { message: `Key ${SECRETS.providerKey} lacks scope`, type: 'permission_error' } },
  },
  not_found: {
    status: 404,
    body: { error: { message: `model not found for ${SECRETS.providerKey}`, type: 'invalid_request_error' } },
  },
  rate_limited: {
    status: 429,
    headers: { 'retry-after': '1' },
    body: { error: { message: `Rate limit for key ${SECRETS.providerKey}`, type: 'requests' } },
  },
  quota_exceeded: {
    status: 429,
    body: {
      error: { message: `quota exceeded (${SECRETS.awsKey})`, type: 'insufficient_quota', code: 'insufficient_quota' },
    },
  },
  context_length: {
    status: 400,
    body: {
      error: {
        message: `too long ${SECRETS.providerKey}`,
        type: 'invalid_request_error',
        code: 'context_length_exceeded',
      },
    },
  },
  content_filtered: {
    status: 400,
    body: { error: { message: `filtered ${SECRETS.envKey}`, type: 'invalid_request_error', code: 'content_filter' } },
  },
  overloaded: {
    status: 503,
    headers: { 'retry-after': '2' },
    body: { error: { message: `busy ${SECRETS.awsKey}`, type: 'server_error' } },
  },
  upstream_server: {
    status: 500,
    body: { error: { message: `internal ${SECRETS.providerKey} ${SECRETS.urlKey}`, type: 'server_error' } },
  },
  invalid_response: { status: 200, body: `{"choices": [ ${SECRETS.providerKey}` },
  conflict: {
    status: 409,
    body: { error: { message: `conflict on ${SECRETS.providerKey}`, type: 'invalid_request_error' } },
  },
  timeout: { hang: true },
  network: 'closed',
  internal: 'crash',
  circuit_open: 'isolated',
  cancelled: 'aborted',
};

let upstream: ScriptedServer;
let app: FastifyInstance;
let baseUrl: string;
let db: BetterSqlite3.Database;
let dir: string;
const logLines: string[] = [];
const responses: string[] = [];
const metrics = prometheusTelemetry();

before(async () => {
  upstream = await startScriptedServer();
  const closedPort = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'bw-leak-'));
  db = new BetterSqlite3(join(dir, 'journal.db'));
  const redactor = createRedactor({ literals: [SECRETS.envKey] });
  const journal = new Journal({ store: new SqliteJournalStore(db), redactor });
  const sink = new Writable({
    write(chunk, _e, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ ...breakwaterPinoOptions(redactor), level: 'debug' }, sink);
  const breaker = circuitBreaker({ strategy: consecutiveFailures(50) });
  breaker.isolate(`isolated?key=${SECRETS.urlKey}`);
  const calls = pipeline(retry({ maxAttempts: 2, backoff: constantBackoff(1) }), breaker, timeout(300));
  instrument(calls, pinoTelemetry(logger), metrics);

  app = Fastify({ logger: false });
  await app.register(breakwaterFastify, {
    onError: (error: BreakwaterError) => logger[error.logLevel]({ err: error }, 'request failed'),
    metrics: metrics.metrics,
  });
  const Chat = z.object({ scenario: z.string(), api_key: z.string(), prompt: z.string().min(1) });
  app.post('/chat', async (request) => {
    logger.info({ body: request.body, headers: request.headers }, 'chat request');
    const { scenario } = Chat.parse(request.body);
    const target = SCENARIOS[scenario];
    return runOperation(journal, 'chat', () =>
      calls.execute(
        async (ctx) => {
          if (target === 'crash')
            throw new TypeError(`pool failed: postgres://app:${SECRETS.dbPassword}@db.internal/app ${SECRETS.envKey}`);
          upstream.script(target as Scripted);
          const base = target === 'closed' ? `http://127.0.0.1:${closedPort}` : upstream.url;
          const res = await fetch(`${base}/v1/chat?key=${SECRETS.urlKey}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${SECRETS.providerKey}`, 'content-type': 'application/json' },
            body: '{}',
            signal: ctx.signal,
          });
          const text = await res.text();
          const body = JSON.parse(text) as unknown;
          const error = classifyResponse({ status: res.status, headers: res.headers, url: res.url, body });
          if (error) throw error;
          return body;
        },
        {
          key: target === 'isolated' ? `isolated?key=${SECRETS.urlKey}` : `openai/v1/chat?key=${SECRETS.urlKey}`,
          ...(target === 'aborted'
            ? { signal: AbortSignal.abort(new DOMException(`client went away ${SECRETS.providerKey}`, 'AbortError')) }
            : {}),
        },
      ),
    );
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

after(async () => {
  await app.close();
  await upstream.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('no seeded secret appears in logs, responses, journal rows or metrics, for any failure category', async () => {
  const seen = new Set<string>();
  const scenarios = [...Object.keys(SCENARIOS), 'validation'];
  for (const scenario of scenarios) {
    const res = await fetch(`${baseUrl}/chat?token=${SECRETS.bodyKey}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${SECRETS.jwt}`,
        'x-api-key': SECRETS.bodyKey,
      },
      body: JSON.stringify({
        scenario,
        api_key: SECRETS.bodyKey,
        prompt: scenario === 'validation' ? '' : `use ${SECRETS.envKey}`,
      }),
    });
    const text = await res.text();
    responses.push(`${res.status} ${JSON.stringify([...res.headers])} ${text}`);
    seen.add((JSON.parse(text) as { category?: string }).category ?? `none:${scenario}:${res.status}`);
  }
  assert.deepEqual([...seen].sort(), [...scenarios].sort(), 'every category was driven through the service');

  const journalRows = JSON.stringify(db.prepare('SELECT * FROM breakwater_operations').all());
  const metricsText = (await metrics.metrics()).body;
  const places = {
    logs: logLines.join('\n'),
    responses: responses.join('\n'),
    journal: journalRows,
    metrics: metricsText,
  };
  assert.ok(
    places.logs.includes('UPSTREAM_AUTH_FAILED') || places.logs.includes('LLM_AUTH_FAILED'),
    'the logs did record the failures',
  );
  assert.ok(journalRows.includes('"failed"'), 'the journal did record the failures');
  assert.ok(
    places.logs.includes('[REDACTED]') && journalRows.includes('[REDACTED]'),
    'secrets reached the redactor (the test is not vacuous)',
  );
  for (const [place, text] of Object.entries(places)) {
    for (const [name, secret] of Object.entries(SECRETS)) {
      assert.ok(!text.includes(secret), `${name} leaked into ${place}`);
    }
  }
});
