import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import { PreboundHistogram } from 'breakwater/prometheus';
import type { ProviderKind } from '../upstream/protocol.js';
import type { RequestObserver, RequestOutcome } from './request-outcome.js';

/** `gen_ai.provider.name` for each protocol (OpenTelemetry GenAI semantic conventions). */
const PROVIDER_NAME: Record<ProviderKind, string> = {
  openai: 'openai',
  anthropic: 'anthropic',
  gemini: 'gcp.gemini',
  bedrock: 'aws.bedrock',
};

function attributes(done: RequestOutcome): Record<string, string> {
  const model = done.target?.slice(done.target.indexOf(':') + 1);
  return {
    gen_ai_operation_name: done.operation,
    gen_ai_provider_name: done.kind ? PROVIDER_NAME[done.kind] : '',
    gen_ai_request_model: done.route,
    gen_ai_response_model: model ?? '',
  };
}

/**
 * The OpenTelemetry GenAI semantic conventions beside breakwater's own series, so dashboards built
 * for them work: `gen_ai.client.token.usage`, `gen_ai.client.operation.duration`,
 * `gen_ai.server.time_to_first_token`, `gen_ai.server.time_per_output_token` (Prometheus names,
 * dots as underscores, with the advised buckets), and one span per request with the `gen_ai.*`
 * attributes for whatever OpenTelemetry SDK the process registers (none: no cost).
 */
export function genAITelemetry(registry: Registry): RequestObserver {
  const labelNames = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_response_model'];
  const tokens = new PreboundHistogram({
    name: 'gen_ai_client_token_usage',
    help: 'Tokens used per request (gen_ai.client.token.usage), by gen_ai_token_type (input, output).',
    labelNames: [...labelNames, 'gen_ai_token_type'],
    buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304],
    registers: [registry],
  });
  const duration = new PreboundHistogram({
    name: 'gen_ai_client_operation_duration_seconds',
    help: 'Duration of GenAI operations through the gateway (gen_ai.client.operation.duration), with error_type on failures.',
    labelNames: [...labelNames, 'error_type'],
    buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
    registers: [registry],
  });
  const firstToken = new PreboundHistogram({
    name: 'gen_ai_server_time_to_first_token_seconds',
    help: 'Time to the first token of a streamed answer (gen_ai.server.time_to_first_token).',
    labelNames,
    buckets: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    registers: [registry],
  });
  const perToken = new PreboundHistogram({
    name: 'gen_ai_server_time_per_output_token_seconds',
    help: 'Time per output token after the first, for streamed answers (gen_ai.server.time_per_output_token).',
    labelNames,
    buckets: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5],
    registers: [registry],
  });
  const tracer = trace.getTracer('breakwater-gateway');
  // The labelled series of each (route, provider, model), resolved once: no label hashing per request.
  const children = new Map<string, ReturnType<typeof seriesFor>>();
  const seriesFor = (labels: Record<string, string>) => ({
    labels,
    input: tokens.labels({ ...labels, gen_ai_token_type: 'input' }),
    output: tokens.labels({ ...labels, gen_ai_token_type: 'output' }),
    ok: duration.labels({ ...labels, error_type: '' }),
    firstToken: firstToken.labels(labels),
    perToken: perToken.labels(labels),
  });
  return (done) => {
    const key = `${done.operation}\u0000${done.route}\u0000${done.target ?? ''}\u0000${done.kind ?? ''}`;
    let series = children.get(key);
    if (!series) children.set(key, (series = seriesFor(attributes(done))));
    const { labels } = series;
    if (done.error) duration.observe({ ...labels, error_type: done.error.code }, done.durationMs / 1000);
    else series.ok.observe(done.durationMs / 1000);
    const input = done.usage?.prompt_tokens;
    const output = done.usage?.completion_tokens;
    if (input !== undefined) series.input.observe(input);
    if (output !== undefined) series.output.observe(output);
    if (done.timeToFirstTokenMs !== undefined && done.outcome === 'success') {
      series.firstToken.observe(done.timeToFirstTokenMs / 1000);
      if (output !== undefined && output > 1)
        series.perToken.observe((done.durationMs - done.timeToFirstTokenMs) / 1000 / (output - 1));
    }
    span(tracer, done, labels);
  };
}

/** One span per request; its attributes are built only when an SDK records it. */
function span(tracer: ReturnType<typeof trace.getTracer>, done: RequestOutcome, labels: Record<string, string>): void {
  const started = tracer.startSpan(`${done.operation} ${done.route}`, {
    kind: SpanKind.CLIENT,
    startTime: done.startedAt,
  });
  if (!started.isRecording()) return void started.end();
  const attributes: Record<string, string | number | boolean> = {
    'gen_ai.operation.name': labels['gen_ai_operation_name']!,
    'gen_ai.request.model': done.route,
    'breakwater.attempts': done.trail.attempts,
    'breakwater.outcome': done.outcome,
  };
  if (labels['gen_ai_provider_name']) attributes['gen_ai.provider.name'] = labels['gen_ai_provider_name'];
  if (labels['gen_ai_response_model']) attributes['gen_ai.response.model'] = labels['gen_ai_response_model'];
  if (done.target) attributes['breakwater.target'] = done.target;
  if (done.usage?.prompt_tokens !== undefined) attributes['gen_ai.usage.input_tokens'] = done.usage.prompt_tokens;
  if (done.usage?.completion_tokens !== undefined)
    attributes['gen_ai.usage.output_tokens'] = done.usage.completion_tokens;
  if (done.error) attributes['error.type'] = done.error.code;
  if (done.trail.fellBackFrom.length > 0) attributes['breakwater.fallback_from'] = done.trail.fellBackFrom.join(',');
  started.setAttributes(attributes);
  if (done.error) started.setStatus({ code: SpanStatusCode.ERROR, message: done.error.code });
  started.end(done.startedAt + done.durationMs);
}
