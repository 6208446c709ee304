import { CATEGORY_TABLE } from './categories.js';
import type { BreakwaterError } from './breakwater-error.js';
import { redact } from '../redact/redactor.js';

/** RFC 9457 problem details, with breakwater's extension members in snake case. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: string;
  category: string;
  correlation_id?: string;
  timestamp: string;
  retry_after_seconds?: number;
  details?: Record<string, unknown>;
}

export interface Envelope {
  success: false;
  data: null;
  error: {
    code: string;
    message: string;
    details: Record<string, unknown> | null;
    correlation_id: string | null;
    timestamp: string;
  };
}

export interface RenderOptions {
  /** Prefix of the problem `type` URI; the code is appended in lower case. */
  typeBase?: string;
  /** RFC 9457 `instance`, usually the request path. */
  instance?: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const DEFAULT_TYPE_BASE = 'urn:breakwater:error:';

/**
 * What a client may see. A 5xx never carries the internal message, details, hostnames, SQL or keys:
 * only the category's generic message and the correlation id to search the logs with.
 */
function publicMessage(error: BreakwaterError): string {
  if (error.status >= 500) return CATEGORY_TABLE[error.category].userMessage;
  return redact.string(error.userMessage);
}

function publicDetails(error: BreakwaterError): Record<string, unknown> | undefined {
  if (error.status >= 500 || error.details === undefined) return undefined;
  return redact.value(error.details) as Record<string, unknown>;
}

export function toProblemDetails(error: BreakwaterError, options: RenderOptions = {}): ProblemDetails {
  const problem: ProblemDetails = {
    type: (options.typeBase ?? DEFAULT_TYPE_BASE) + error.code.toLowerCase(),
    title: CATEGORY_TABLE[error.category].title,
    status: error.status,
    detail: publicMessage(error),
    code: error.code,
    category: error.category,
    timestamp: error.timestamp,
  };
  if (options.instance !== undefined) problem.instance = options.instance;
  if (error.correlationId !== undefined) problem.correlation_id = error.correlationId;
  const retryAfter = retryAfterSeconds(error);
  if (retryAfter !== undefined) problem.retry_after_seconds = retryAfter;
  const details = publicDetails(error);
  if (details !== undefined) problem.details = details;
  return problem;
}

export function toEnvelope(error: BreakwaterError): Envelope {
  return {
    success: false,
    data: null,
    error: {
      code: error.code,
      message: publicMessage(error),
      details: publicDetails(error) ?? null,
      correlation_id: error.correlationId ?? null,
      timestamp: error.timestamp,
    },
  };
}

/**
 * `Retry-After` in whole seconds (rounded up: never invite a retry before the delay). Only for
 * errors worth retrying (and an open circuit, whose delay is the time left in the break): a
 * Retry-After on an exhausted quota would invite exactly the retries we refuse to make.
 */
export function retryAfterSeconds(error: BreakwaterError): number | undefined {
  if (error.retryAfterMs === undefined || !Number.isFinite(error.retryAfterMs)) return undefined;
  if (!error.retryable && error.category !== 'circuit_open') return undefined;
  if (error.status !== 429 && error.status !== 503) return undefined;
  return Math.max(0, Math.ceil(error.retryAfterMs / 1000));
}

/** Response headers that go with the error rendering. */
export function errorHeaders(error: BreakwaterError): Record<string, string> {
  const headers: Record<string, string> = {};
  const retryAfter = retryAfterSeconds(error);
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  if (error.correlationId !== undefined) headers['x-request-id'] = error.correlationId;
  return headers;
}
