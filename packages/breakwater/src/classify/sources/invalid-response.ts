import { BACKOFF, defineRules, type Signal } from '../rule.js';
import { readString } from '../walk.js';
import { zodIssues } from '../../errors/validation.js';

export const RESPONSE_RULES = defineRules('response', 'Response body parsing', {
  malformed_json: {
    signal: 'SyntaxError (JSON.parse of a dependency body)',
    category: 'invalid_response',
    retryable: true,
    delay: BACKOFF,
  },
  schema_mismatch: {
    signal: 'ZodError (or any zod-shaped `issues` error) raised while checking a dependency body',
    category: 'invalid_response',
    retryable: true,
    delay: BACKOFF,
  },
});

/**
 * A dependency answered, but with something we cannot use. Only for values classified with origin
 * `dependency`: the same SyntaxError from parsing the caller's body is the caller's validation error.
 */
export function classifyInvalidResponse(value: unknown): Signal | undefined {
  const name = readString(value, 'name');
  if (name === 'SyntaxError') return { rule: RESPONSE_RULES.malformed_json, domain: 'UPSTREAM' };
  if (name === 'ZodError' || (value instanceof Error && zodIssues(value) !== undefined)) {
    return { rule: RESPONSE_RULES.schema_mismatch, domain: 'UPSTREAM' };
  }
  return undefined;
}
