import type { BreakwaterError } from '../errors/breakwater-error.js';
import { fromRule } from './classify.js';
import { streamEventSignal } from './sources/llm.js';

/**
 * Classifies an SSE event's parsed JSON when it is an `{"error": …}` event (OpenAI, Anthropic and
 * compatible servers send them after HTTP 200). Undefined for an ordinary event.
 */
export function classifyStreamEvent(
  event: unknown,
  options: { dependency?: string; correlationId?: string } = {},
): BreakwaterError | undefined {
  const signal = streamEventSignal(event);
  if (!signal) return undefined;
  const error = (event as { error: { message?: unknown } }).error;
  return fromRule(signal.rule, {
    domain: signal.domain,
    message: typeof error.message === 'string' ? error.message : 'The upstream sent an error event.',
    ...(signal.details ? { details: signal.details } : {}),
    ...(options.dependency ? { dependency: options.dependency } : {}),
    ...(options.correlationId ? { correlationId: options.correlationId } : {}),
  });
}
