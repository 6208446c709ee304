import { CATEGORY_TABLE, errorHeaders, type BreakwaterError, type Category } from 'breakwater';

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

/**
 * An error as OpenAI sends one — `{ error: { message, type, param, code } }` — with the breakwater
 * code, category and correlation id. 5xx messages are generic; internals stay in the logs.
 */
export function openAIError(error: BreakwaterError): {
  status: number;
  headers: Record<string, string>;
  body: OpenAIErrorBody;
} {
  const issues = (error.details?.['issues'] as Array<{ path: string }> | undefined) ?? [];
  return {
    status: error.status,
    // The gateway already retried what was worth retrying: an SDK must not multiply the load.
    headers: { ...errorHeaders(error), 'x-should-retry': 'false' },
    body: {
      error: {
        message: error.status >= 500 ? CATEGORY_TABLE[error.category].userMessage : describe(error),
        type: OPENAI_TYPE[error.category],
        param: issues[0]?.path ?? null,
        code: error.code,
        category: error.category,
        correlation_id: error.correlationId ?? null,
      },
    },
  };
}

function describe(error: BreakwaterError): string {
  const issues = (error.details?.['issues'] as Array<{ path: string; message: string }> | undefined) ?? [];
  if (issues.length === 0) return error.userMessage;
  return `${error.userMessage} ${issues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; ')}`;
}
