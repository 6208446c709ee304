import type { BreakwaterError } from '../errors/breakwater-error.js';
import type { Category } from '../errors/categories.js';

/**
 * What a model should be told when a tool fails: what went wrong and what it can do about it.
 * Written for the model, not for a person; never the internal message.
 */
const ADVICE: Readonly<Record<Category, string>> = {
  validation: 'The arguments were invalid. Fix the listed fields and call the tool again.',
  authentication:
    'The tool is not authorised to reach its service. Retrying will not help; continue without this tool.',
  permission: 'The tool is not allowed to do this. Retrying will not help; try a different approach.',
  not_found:
    'What the tool looked for does not exist. Check the identifiers in your arguments, or continue without it.',
  conflict:
    'The request conflicts with the current state (for example, it already exists). Change the arguments or use the existing item.',
  rate_limited:
    'The service is rate limited. Wait for the indicated delay before calling this tool again, or continue without it.',
  quota_exceeded: 'The service quota is exhausted. Retrying will not help; continue without this tool.',
  context_length: 'The input was too long for the service. Call the tool again with shorter input.',
  content_filtered: 'The content was rejected by a content policy. Rephrase the input; do not retry it unchanged.',
  timeout: 'The tool did not answer in time. You may try once more, perhaps with a smaller request.',
  network: 'The tool could not reach its service. You may try again shortly.',
  overloaded: 'The service is overloaded. You may try again after a short wait.',
  upstream_server: 'The service failed. You may try again shortly.',
  invalid_response: 'The service returned an invalid answer. You may try again.',
  circuit_open: 'The service is temporarily unavailable. Do not retry now; continue without this tool.',
  cancelled: 'The call was cancelled. Do not retry unless asked.',
  internal: 'The tool failed unexpectedly. Retrying will probably not help; continue without this tool.',
};

export function adviceFor(category: Category): string {
  return ADVICE[category];
}

/** One sentence of context plus the advice; for validation, every invalid field with its message. */
export function messageForModel(toolName: string, error: BreakwaterError): string {
  const issues = (error.details?.['issues'] as Array<{ path: string; message: string }> | undefined) ?? [];
  const fields =
    error.category === 'validation' && issues.length > 0
      ? ` Invalid: ${issues.map((i) => `${i.path || '(arguments)'}: ${i.message}`).join('; ')}.`
      : '';
  const wait =
    error.retryAfterMs !== undefined && error.retryable
      ? ` Retry after ${Math.ceil(error.retryAfterMs / 1000)} s.`
      : '';
  return `Tool "${toolName}" failed (${error.code}).${fields} ${adviceFor(error.category)}${wait}`;
}
