// breakwater/pino: JSON logs from breakwater's events, levels by category, correlation ids, and
// redaction of every field, message, cause and stack before pino writes it (peer: pino).
import type { Logger, LoggerOptions } from 'pino';
import { isBreakwaterError } from '../../errors/breakwater-error.js';
import { currentCorrelationId } from '../../correlation/correlation.js';
import { redact as defaultRedactor, type Redactor } from '../../redact/redactor.js';
import type { TelemetrySink } from '../telemetry.js';

/**
 * Options to spread into `pino({...})`: the request's correlation id on every line, an `err`
 * serializer that writes classified errors safely, and a hook that redacts every argument.
 */
export function breakwaterPinoOptions(
  redactor: Redactor = defaultRedactor,
): Pick<LoggerOptions, 'mixin' | 'serializers' | 'hooks'> {
  const serializeError = (value: unknown): unknown =>
    isBreakwaterError(value) ? value.toJSON() : redactor.value(value);
  return {
    mixin: () => {
      const correlationId = currentCorrelationId();
      return correlationId ? { correlation_id: correlationId } : {};
    },
    serializers: { err: serializeError, error: serializeError },
    hooks: {
      logMethod(args, method) {
        const safe = args.map((arg) => {
          if (typeof arg === 'string') return redactor.string(arg);
          if (arg instanceof Error) return { err: serializeError(arg) };
          if (arg === null || typeof arg !== 'object') return arg;
          // Errors under err/error keep their codes (toJSON) before the whole object is redacted.
          const copy: Record<string, unknown> = { ...(arg as Record<string, unknown>) };
          for (const key of ['err', 'error']) if (copy[key] instanceof Error) copy[key] = serializeError(copy[key]);
          return redactor.value(copy);
        });
        return method.apply(this, safe as Parameters<typeof method>);
      },
    },
  };
}

/**
 * The call's own correlation id, carried by the event: a line has it even where no
 * AsyncLocalStorage scope is active (an integration with `asyncContext: false`, a detached task).
 */
const ids = (correlationId: string | undefined) => (correlationId ? { correlation_id: correlationId } : {});

/** Logs breakwater's events: failures at the level their category calls for, retries with attempt, delay and reason. */
export function pinoTelemetry(logger: Logger): TelemetrySink {
  return {
    'pipeline.call': ({ key, correlationId, durationMs, attempts, error, degraded }) => {
      if (error)
        logger[error.logLevel](
          {
            event: 'call_failed',
            key,
            ...ids(correlationId),
            attempts,
            durationMs: Math.round(durationMs),
            err: error,
          },
          `${key} failed: ${error.code}`,
        );
      else if (degraded)
        logger.warn(
          { event: 'call_degraded', key, ...ids(correlationId), attempts, degraded },
          `${key} answered by a fallback (${degraded.reason})`,
        );
    },
    'retry.retry': ({ key, correlationId, attempt, delayMs, reason, error }) =>
      logger.warn(
        {
          event: 'retry',
          key,
          ...ids(correlationId),
          attempt,
          delayMs: Math.round(delayMs),
          reason,
          code: error.code,
          category: error.category,
        },
        `retrying ${key} in ${Math.round(delayMs)} ms (${error.code})`,
      ),
    'retry.budgetExhausted': ({ key, correlationId, error }) =>
      logger.warn(
        { event: 'retry_budget_exhausted', key, ...ids(correlationId), code: error.code },
        `retry budget exhausted for ${key}`,
      ),
    'breaker.stateChange': ({ key, from, to }) =>
      logger[to === 'open' || to === 'isolated' ? 'error' : 'warn'](
        { event: 'breaker_state', key, from, to },
        `circuit ${key}: ${from} → ${to}`,
      ),
    'timeout.timeout': ({ key, correlationId, ms, attempt }) =>
      logger.warn({ event: 'timeout', key, ...ids(correlationId), ms, attempt }, `${key} timed out after ${ms} ms`),
    'fallback.fallback': ({ key, correlationId, reason, error }) =>
      logger.warn(
        { event: 'fallback', key, ...ids(correlationId), reason, code: error.code },
        `${key} falling back (${reason})`,
      ),
    'alternatives.fallback': ({ key, correlationId, to, error }) =>
      logger.warn(
        { event: 'fallback', key, ...ids(correlationId), to, code: error.code, category: error.category },
        `${key} failed (${error.code}): trying ${to}`,
      ),
    'hedge.hedge': ({ key, correlationId, attempt }) =>
      logger.info({ event: 'hedge', key, ...ids(correlationId), attempt }, `hedging ${key}`),
    'alternatives.hedge': ({ key, correlationId, to, afterMs }) =>
      logger.info(
        { event: 'hedge', key, ...ids(correlationId), to, afterMs },
        `${key} slow after ${afterMs} ms: hedging with ${to}`,
      ),
    'tool.toolError': ({ tool, error, durationMs }) =>
      logger[error.logLevel](
        { event: 'tool_failed', tool, durationMs, err: error },
        `tool ${tool} failed: ${error.code}`,
      ),
  };
}
