import type { Health } from '../observe/health.js';
import type { HttpErrorOptions } from './error-response.js';

export interface HttpIntegrationOptions extends HttpErrorOptions {
  /** Serve `GET {healthPath}/live` and `GET {healthPath}/ready` (application/health+json). */
  health?: Health;
  healthPath?: string;
  /** Serve `GET /metrics` with what this returns (see `breakwater/prometheus`). */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Reject request bodies that are not JSON with 415. Default true. */
  jsonOnly?: boolean;
  /** JSON bodies nested deeper than this are a 400 before they are parsed. Default 64. */
  maxJsonDepth?: number;
  /**
   * Run each request inside an AsyncLocalStorage scope, so `currentCorrelationId()` (the pino
   * mixin, journal rows, classified errors) finds the request's id anywhere below. Default true.
   * `false` saves what AsyncLocalStorage costs on Node 20 (its promise hooks: ~10% of a proxy's
   * CPU per request, measured in the gateway); the id is still read, echoed and put on error
   * responses, policy events carry their call's `correlationId`, and whatever else needs it must
   * be passed it (e.g. `runOperation`'s and `pipeline.execute`'s `correlationId`).
   */
  asyncContext?: boolean;
}

export const CORRELATION_HEADER = 'x-request-id';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** True when a request carries a body whose content type is not JSON. */
export function isNonJsonBody(
  method: string,
  contentType: string | undefined,
  contentLength: string | undefined,
): boolean {
  if (!BODY_METHODS.has(method) && !BODY_METHODS.has(method.toUpperCase())) return false;
  if (contentLength === '0') return false;
  if (contentType === undefined) return contentLength !== undefined;
  // What nearly every client sends, decided with no string made (this runs on every request).
  if (contentType === 'application/json' || contentType === 'application/json; charset=utf-8') return false;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type !== 'application/json' && !type.endsWith('+json');
}

/** True for an HTML form's body (`application/x-www-form-urlencoded`). */
export function isFormBody(contentType: string | undefined): boolean {
  return contentType?.split(';', 1)[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}
