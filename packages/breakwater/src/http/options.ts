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
}

export const CORRELATION_HEADER = 'x-request-id';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** True when a request carries a body whose content type is not JSON. */
export function isNonJsonBody(
  method: string,
  contentType: string | undefined,
  contentLength: string | undefined,
): boolean {
  if (!BODY_METHODS.has(method.toUpperCase())) return false;
  if (contentLength === '0') return false;
  if (contentType === undefined) return contentLength !== undefined;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type !== 'application/json' && !type.endsWith('+json');
}

/** True for an HTML form's body (`application/x-www-form-urlencoded`). */
export function isFormBody(contentType: string | undefined): boolean {
  return contentType?.split(';', 1)[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}
