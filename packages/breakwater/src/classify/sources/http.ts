import { httpSignal, ruleForStatus } from '../http-status.js';
import type { Signal } from '../rule.js';
import { read, readNumber } from '../walk.js';

/**
 * Any HTTP-shaped failure that no more specific classifier claimed: an object with a numeric
 * `status` or `statusCode` (undici ResponseError, got, ky, axios's `response`, a fetch Response).
 */
export function classifyHttpLike(value: unknown): Signal | undefined {
  const response = read(value, 'response');
  const status =
    readNumber(value, 'status') ??
    readNumber(value, 'statusCode') ??
    readNumber(response, 'status') ??
    readNumber(response, 'statusCode');
  if (status === undefined) return undefined;
  const rule = ruleForStatus(status);
  if (!rule) return undefined;
  const headers = read(value, 'headers') ?? read(response, 'headers');
  return httpSignal(rule, status, headers, 'UPSTREAM', hostOf(read(value, 'url') ?? read(response, 'url')));
}

export function hostOf(url: unknown): string | undefined {
  if (typeof url !== 'string' || url === '') return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}
