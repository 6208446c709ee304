import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';

// The OpenTelemetry GenAI semantic conventions: one span per request with gen_ai.* attributes,
// and the gen_ai_* series beside breakwater's own, for a native Anthropic upstream.
const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
let simulator: Simulator;
let gateway: Gateway;
let base: string;

before(async () => {
  simulator = await startSimulator({ tokenDelayMs: 2 });
  gateway = await createGateway(
    parseConfig({
      providers: { claude: { kind: 'anthropic', baseUrl: simulator.url } },
      routes: { smart: { targets: [{ provider: 'claude', model: 'claude-sonnet-4-5' }], retry: { maxAttempts: 1 } } },
      journal: { memory: true },
    }),
    { env: {}, logger: pino({ level: 'silent' }) },
  );
  base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await gateway.close();
  await simulator.close();
});

const chat = (stream: boolean) =>
  fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'smart', stream, messages: [{ role: 'user', content: 'hi' }] }),
  }).then((response) => response.text());

test('each request is a span with the gen_ai attributes; failures carry error.type', async () => {
  exporter.reset();
  await chat(false);
  simulator.script('overloaded');
  await chat(false);
  const [ok, failed] = exporter.getFinishedSpans();
  assert.equal(ok?.name, 'chat smart');
  assert.deepEqual(
    {
      operation: ok?.attributes['gen_ai.operation.name'],
      provider: ok?.attributes['gen_ai.provider.name'],
      request: ok?.attributes['gen_ai.request.model'],
      response: ok?.attributes['gen_ai.response.model'],
      input: ok?.attributes['gen_ai.usage.input_tokens'],
      output: ok?.attributes['gen_ai.usage.output_tokens'],
    },
    {
      operation: 'chat',
      provider: 'anthropic',
      request: 'smart',
      response: 'claude-sonnet-4-5',
      input: 16,
      output: 9,
    },
  );
  assert.equal(failed?.attributes['error.type'], 'LLM_OVERLOADED');
  assert.equal(failed?.status.code, 2 /* ERROR */);
});

test('the gen_ai series: token usage by type, operation duration, time to first token and per output token', async () => {
  await chat(true);
  const text = await (await fetch(`${base}/metrics`)).text();
  const labels =
    'gen_ai_operation_name="chat",gen_ai_provider_name="anthropic",gen_ai_request_model="smart",gen_ai_response_model="claude-sonnet-4-5"';
  assert.match(text, new RegExp(`gen_ai_client_token_usage_count\\{${labels},gen_ai_token_type="input"\\} [1-9]`));
  assert.match(text, new RegExp(`gen_ai_client_token_usage_count\\{${labels},gen_ai_token_type="output"\\} [1-9]`));
  assert.match(text, new RegExp(`gen_ai_client_operation_duration_seconds_count\\{${labels},error_type=""\\} [1-9]`));
  assert.match(text, new RegExp(`gen_ai_server_time_to_first_token_seconds_count\\{${labels}\\} [1-9]`));
  assert.match(text, new RegExp(`gen_ai_server_time_per_output_token_seconds_count\\{${labels}\\} [1-9]`));
  assert.match(
    text,
    /breakwater_gateway_time_to_first_token_seconds_count\{route="smart",target="claude:claude-sonnet-4-5"\} [1-9]/,
  );
  assert.match(text, /breakwater_breaker_state\{key="claude:claude-sonnet-4-5"\} 0/);
});
