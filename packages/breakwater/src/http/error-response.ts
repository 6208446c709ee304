import type { BreakwaterError } from '../errors/breakwater-error.js';
import { errorHeaders, PROBLEM_CONTENT_TYPE, toEnvelope, toProblemDetails } from '../errors/render.js';
import { toHttpError } from './framework-errors.js';

export type ErrorFormat = 'problem' | 'envelope';

export interface HttpErrorOptions {
  /** RFC 9457 problem+json (default) or the `{ success, data, error }` envelope. */
  format?: ErrorFormat;
  typeBase?: string;
  /** Called with every error before it is rendered (logging, metrics). Must not throw. */
  onError?: (error: BreakwaterError, request: { method: string; path: string }) => void;
  /** Your own wire format (e.g. OpenAI's error shape) instead of problem+json or the envelope. */
  render?: (error: BreakwaterError) => { status: number; headers: Record<string, string>; body: unknown };
}

export interface ErrorResponse {
  error: BreakwaterError;
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Renders any thrown value as the response every framework integration sends. */
export function errorResponse(
  thrown: unknown,
  request: { method: string; path: string; correlationId?: string },
  options: HttpErrorOptions = {},
): ErrorResponse {
  const error = toHttpError(thrown, request.correlationId);
  try {
    options.onError?.(error, request);
  } catch {
    // A broken logger must not turn an error response into a crash.
  }
  if (options.render) {
    const custom = options.render(error);
    return {
      error,
      status: custom.status,
      headers: { 'content-type': 'application/json; charset=utf-8', ...custom.headers },
      body: JSON.stringify(custom.body),
    };
  }
  const envelope = options.format === 'envelope';
  const body = envelope
    ? toEnvelope(error)
    : toProblemDetails(error, { instance: request.path, ...(options.typeBase ? { typeBase: options.typeBase } : {}) });
  return {
    error,
    status: error.status,
    headers: {
      'content-type': envelope ? 'application/json; charset=utf-8' : PROBLEM_CONTENT_TYPE,
      ...errorHeaders(error),
    },
    body: JSON.stringify(body),
  };
}
