import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import {
  BreakwaterError,
  circuitBreaker,
  constantBackoff,
  consecutiveFailures,
  instrument,
  pipeline,
  retry,
  runWithCorrelation,
} from 'breakwater';
import { tracing } from 'breakwater/otel';
import { breakwaterPinoOptions, pinoTelemetry } from 'breakwater/pino';
import { prometheusTelemetry } from 'breakwater/prometheus';

const upstream = (status: number, body: unknown = {}) =>
  Object.assign(new Error(`upstream ${status}`), {
    status,
    headers: status === 429 ? { 'retry-after-ms': '5' } : {},
    error: body,
  });

function capture() {
  const lines: Array<Record<string, any>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ ...breakwaterPinoOptions(), level: 'debug' }, stream), lines };
}

test('pino: retries logged with attempt, delay and reason; failures at the level of their category; correlation id on every line', async () => {
  const { logger, lines } = capture();
  const run = pipeline(retry({ maxAttempts: 2, backoff: constantBackoff(1) }));
  instrument(run, pinoTelemetry(logger));
  let calls = 0;
  await runWithCorrelation({ correlationId: 'corr-logs-1' }, () =>
    run
      .execute(
        async () => {
          calls++;
          throw upstream(calls === 1 ? 429 : 400);
        },
        { key: 'openai' },
      )
      .catch(() => undefined),
  );
  await run
    .execute(
      async () => {
        throw new BreakwaterError({ code: 'LLM_QUOTA_EXCEEDED', category: 'quota_exceeded', origin: 'dependency' });
      },
      { key: 'openai' },
    )
    .catch(() => undefined);
  const retryLine = lines.find((l) => l['event'] === 'retry')!;
  assert.equal(retryLine['attempt'], 1);
  assert.equal(retryLine['delayMs'], 5);
  assert.equal(retryLine['reason'], 'retry_after');
  assert.equal(retryLine['correlation_id'], 'corr-logs-1');
  const failures = lines.filter((l) => l['event'] === 'call_failed');
  assert.equal(failures[0]!['level'], 30, 'validation logs at info');
  assert.equal(failures[0]!['err'].code, 'UPSTREAM_BAD_REQUEST');
  assert.equal(failures[1]!['level'], 50, 'quota exhausted logs at error');
});

test('pino: with no AsyncLocalStorage scope, lines carry the correlation id the call was given', async () => {
  const { logger, lines } = capture();
  const run = pipeline(retry({ maxAttempts: 2, backoff: constantBackoff(1) }));
  instrument(run, pinoTelemetry(logger));
  await run
    .execute(
      async () => {
        throw upstream(503);
      },
      { key: 'openai', correlationId: 'corr-explicit-1' },
    )
    .catch(() => undefined);
  const events = lines.filter((l) => l['event'] === 'retry' || l['event'] === 'call_failed');
  assert.deepEqual(
    events.map((l) => [l['event'], l['correlation_id']]),
    [
      ['retry', 'corr-explicit-1'],
      ['call_failed', 'corr-explicit-1'],
    ],
  );
});

test('pino options redact secrets in messages, fields, errors and stacks whatever is logged', () => {
  const { logger, lines } = capture();
  const secret = 'sk-proj-pinoSECRET0123456789';
  logger.info({ headers: { authorization: 'Bearer abcdefghijkl' }, note: `key ${secret}` }, `calling with ${secret}`);
  logger.error(new Error(`failed with ${secret}`));
  logger.warn({ err: new Error('nested', { cause: new Error(`cause ${secret}`) }) }, 'x');
  const text = JSON.stringify(lines);
  assert.ok(!text.includes(secret), text);
  assert.ok(!text.includes('abcdefghijkl'));
});

test('prometheus: every listed breaker exported at each scrape, closed ones as 0', async () => {
  const breaker = circuitBreaker({ strategy: consecutiveFailures(1) });
  const metrics = prometheusTelemetry({ breakers: () => ['quiet', 'broken'].map((key) => breaker.snapshot(key)) });
  await pipeline(breaker)
    .execute(
      async () => {
        throw upstream(503);
      },
      { key: 'broken' },
    )
    .catch(() => undefined);
  const { body } = await metrics.metrics();
  assert.match(body, /breakwater_breaker_state\{key="quiet"\} 0/);
  assert.match(body, /breakwater_breaker_state\{key="broken"\} 2/);
});

test('prometheus: errors by category/code/dependency, attempts, retries, breaker state, durations', async () => {
  const metrics = prometheusTelemetry();
  const run = pipeline(
    retry({ maxAttempts: 2, backoff: constantBackoff(0) }),
    circuitBreaker({ strategy: consecutiveFailures(2) }),
  );
  instrument(run, metrics);
  for (let i = 0; i < 2; i++)
    await run
      .execute(
        async () => {
          throw upstream(503);
        },
        { key: 'anthropic' },
      )
      .catch(() => undefined);
  await run.execute(async () => 'ok', { key: 'openai' });
  const { contentType, body } = await metrics.metrics();
  assert.match(contentType, /text\/plain/);
  assert.match(
    body,
    /breakwater_errors_total\{category="(overloaded|circuit_open)",code="(UPSTREAM_OVERLOADED|CIRCUIT_OPEN)",dependency="anthropic"\} \d/,
  );
  assert.match(body, /breakwater_breaker_state\{key="anthropic"\} 2/);
  assert.match(body, /breakwater_retries_total\{key="anthropic",reason="backoff"\} 1/);
  // Calls that reached the callee: two for the first call; the breaker refused the second (0).
  assert.match(body, /breakwater_attempts_total\{key="anthropic"\} 2/);
  assert.match(body, /breakwater_call_duration_seconds_count\{key="openai",outcome="success"\} 1/);
  assert.match(body, /breakwater_rejections_total\{key="anthropic",policy="circuit_breaker"\} 1/);
});

test('prometheus: a secret in a key is redacted every time, however many other keys came between', async () => {
  const metrics = prometheusTelemetry();
  const run = pipeline(retry({ maxAttempts: 1 }));
  instrument(run, metrics);
  const secretKey = 'tenant:sk-proj-labelSECRET0123456789';
  await run.execute(async () => 'ok', { key: secretKey });
  // More distinct keys than the label memo keeps: it is cleared and filled again on the way.
  for (let i = 0; i < 1_200; i++) await run.execute(async () => 'ok', { key: `key-${i}` });
  await run.execute(async () => 'ok', { key: secretKey });
  const { body } = await metrics.metrics();
  assert.ok(!body.includes('labelSECRET'), 'the secret never reaches a label');
  const redacted = /breakwater_calls_total\{key="(tenant:[^"]*)",outcome="success"\} (\d+)/.exec(body);
  assert.ok(redacted, 'the call is counted under its redacted key');
  assert.equal(redacted[2], '2', 'both calls under the one redacted label');
  assert.match(body, /breakwater_calls_total\{key="key-1199",outcome="success"\} 1/);
});

test('prometheus: calls of one key are counted per outcome, their attempts per key, each call once', async () => {
  const metrics = prometheusTelemetry();
  const run = pipeline(retry({ maxAttempts: 2, backoff: constantBackoff(0) }));
  instrument(run, metrics);
  await run.execute(async () => 'ok', { key: 'k' });
  await run.execute(async () => 'ok', { key: 'k' });
  await run
    .execute(
      async () => {
        throw upstream(503);
      },
      { key: 'k' },
    )
    .catch(() => undefined);
  const { body } = await metrics.metrics();
  assert.match(body, /breakwater_calls_total\{key="k",outcome="success"\} 2/);
  assert.match(body, /breakwater_calls_total\{key="k",outcome="failure"\} 1/);
  assert.match(body, /breakwater_attempts_total\{key="k"\} 4/, 'one each for the successes, two for the failure');
  assert.match(body, /breakwater_call_duration_seconds_count\{key="k",outcome="success"\} 2/);
  assert.match(body, /breakwater_call_duration_seconds_count\{key="k",outcome="failure"\} 1/);
});

test('otel: a span per call with error.type set to the breakwater code', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const run = pipeline(
    tracing({ tracer: provider.getTracer('test') }),
    retry({ maxAttempts: 2, backoff: constantBackoff(0) }),
  );
  await run.execute(async () => 'ok', { key: 'openai' });
  await run
    .execute(
      async () => {
        throw upstream(404);
      },
      { key: 'openai' },
    )
    .catch(() => undefined);
  const [ok, failed] = exporter.getFinishedSpans();
  assert.equal(ok!.name, 'breakwater openai');
  assert.equal(ok!.status.code, 0);
  assert.equal(failed!.attributes['error.type'], 'UPSTREAM_NOT_FOUND');
  assert.equal(failed!.attributes['breakwater.category'], 'not_found');
  assert.equal(failed!.status.code, 2);
});
