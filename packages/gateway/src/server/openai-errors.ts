import { errorHeaders, redact, type BreakwaterError, type Category, type Redactor } from 'breakwater';

/** OpenAI's error `type` for each category, so existing SDKs and clients branch as they already do. */
const OPENAI_TYPE: Record<Category, string> = {
  validation: 'invalid_request_error',
  context_length: 'invalid_request_error',
  content_filtered: 'invalid_request_error',
  not_found: 'invalid_request_error',
  conflict: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  rate_limited: 'rate_limit_error',
  quota_exceeded: 'insufficient_quota',
  timeout: 'timeout_error',
  network: 'api_error',
  overloaded: 'overloaded_error',
  upstream_server: 'api_error',
  invalid_response: 'api_error',
  circuit_open: 'overloaded_error',
  cancelled: 'cancelled',
  internal: 'api_error',
};

export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string;
    category: string;
    correlation_id: string | null;
  };
}

interface UpstreamSaid {
  message?: string;
  param?: string;
}

/** The rendering function for the gateway's error handler and stream error events. */
export type OpenAIErrorRenderer = typeof openAIError;

/**
 * Statuses whose upstream body tells the caller what to fix in its own request. Server errors
 * (internals) and authentication failures (which echo keys) are never passed through.
 */
const CALLER_FIXABLE: ReadonlySet<number> = new Set([400, 404, 409, 413, 415, 422]);

/** What the upstream said, from the classified response's cause (`{ error: { message, param } }`), redacted. */
function upstreamSaid(error: BreakwaterError, redactor: Redactor): UpstreamSaid | undefined {
  if (error.origin !== 'dependency' || !CALLER_FIXABLE.has(error.upstreamStatus ?? 0)) return undefined;
  const body = (error.cause as { body?: { error?: { message?: unknown; param?: unknown } } } | undefined)?.body;
  const said = body?.error;
  if (!said || typeof said !== 'object') return undefined;
  const text = (value: unknown) => (typeof value === 'string' ? redactor.string(value.slice(0, 1_000)) : undefined);
  const message = text(said.message);
  const param = text(said.param);
  return { ...(message ? { message } : {}), ...(param ? { param } : {}) };
}

/** The renderer, with the gateway's own redactor (it knows the provider keys by value). */
export function openAIErrors(redactor: Redactor): OpenAIErrorRenderer {
  return (error) => openAIError(error, redactor);
}

/**
 * An error as OpenAI sends one — `{ error: { message, type, param, code } }` — with the breakwater
 * code, category and correlation id. 5xx messages are the error's user message (never internals;
 * internals stay in the logs). A request the upstream rejected as the caller's mistake carries the
 * upstream's own (redacted) message and `param`, so the caller can fix it; the upstream refusing
 * the gateway's own credentials says so, and is an `api_error`, not the caller's authentication.
 */
export function openAIError(
  error: BreakwaterError,
  redactor: Redactor = redact,
): {
  status: number;
  headers: Record<string, string>;
  body: OpenAIErrorBody;
} {
  const issues = (error.details?.['issues'] as Array<{ path: string }> | undefined) ?? [];
  const upstream = upstreamSaid(error, redactor);
  const ownCredentialsRefused =
    error.origin === 'dependency' && (error.category === 'authentication' || error.category === 'permission');
  const callersRequest = error.origin === 'dependency' && error.status < 500;
  return {
    status: error.status,
    // The gateway already retried what was worth retrying: an SDK must not multiply the load.
    headers: { ...errorHeaders(error), 'x-should-retry': 'false' },
    body: {
      error: {
        message: ownCredentialsRefused
          ? `The upstream ${providerOf(error)} refused the gateway's own credentials; this is the gateway's configuration, not your key.`
          : callersRequest && upstream?.message
            ? upstream.message + filtersOf(error)
            : describe(error),
        type: ownCredentialsRefused ? 'api_error' : OPENAI_TYPE[error.category],
        param: (callersRequest ? upstream?.param : undefined) ?? issues[0]?.path ?? null,
        code: error.code,
        category: error.category,
        correlation_id: error.correlationId ?? null,
      },
    },
  };
}

/** The content filters that fired, as the provider reported them (Azure's content_filter_result). */
function filtersOf(error: BreakwaterError): string {
  const filters = error.details?.['filters'];
  return Array.isArray(filters) && filters.length > 0 ? ` (filtered: ${filters.join(', ')})` : '';
}

function providerOf(error: BreakwaterError): string {
  return error.dependency ? `'${error.dependency.split(':')[0]}'` : 'provider';
}

function describe(error: BreakwaterError): string {
  const issues = (error.details?.['issues'] as Array<{ path: string; message: string }> | undefined) ?? [];
  if (issues.length === 0) return error.userMessage + filtersOf(error);
  return `${error.userMessage} ${issues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; ')}`;
}
