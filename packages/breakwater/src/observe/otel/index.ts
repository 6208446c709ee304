// breakwater/otel: a policy that puts each call (or attempt) in an OpenTelemetry span (peer: @opentelemetry/api).
import { SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { CallContext } from '../../policies/context.js';
import { classifyFor } from '../../policies/classify-for.js';
import type { Next, Policy } from '../../policies/policy.js';
import { redact } from '../../redact/redactor.js';

export interface TracingOptions {
  tracer?: Tracer;
  /** Span name. Default `breakwater <key>`. */
  name?: (ctx: CallContext) => string;
}

/**
 * Outside a retry it spans the whole call; inside, each attempt. A failure sets `error.type` (the
 * breakwater code, as the OpenTelemetry semantic conventions ask), the category, and the status.
 */
export function tracing(options: TracingOptions = {}): Policy {
  const tracer = options.tracer ?? trace.getTracer('breakwater');
  return {
    classifies: true,
    run<T>(ctx: CallContext, next: Next<T>): Promise<T> {
      return tracer.startActiveSpan(options.name?.(ctx) ?? `breakwater ${ctx.key}`, async (span) => {
        span.setAttribute('breakwater.key', ctx.key);
        if (ctx.correlationId) span.setAttribute('breakwater.correlation_id', ctx.correlationId);
        try {
          const value = await next(ctx);
          span.setAttribute('breakwater.attempts', ctx.attempt);
          if (ctx.degraded) span.setAttribute('breakwater.degraded', ctx.degraded.reason);
          return value;
        } catch (thrown) {
          const error = classifyFor(thrown, ctx);
          span.setAttributes({
            'error.type': error.code,
            'breakwater.category': error.category,
            'breakwater.retryable': error.retryable,
            'breakwater.attempts': ctx.attempt,
          });
          span.setStatus({ code: SpanStatusCode.ERROR, message: redact.string(`${error.code}: ${error.userMessage}`) });
          span.recordException({ name: error.code, message: redact.string(error.message) });
          throw error;
        } finally {
          span.end();
        }
      });
    },
  };
}
