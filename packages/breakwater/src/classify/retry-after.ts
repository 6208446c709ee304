import { headerValue, type HeaderSource } from '../common/headers.js';

/** Longest delay we believe from a header: a year-long Retry-After is a bug, not advice. */
const MAX_HEADER_DELAY_MS = 24 * 60 * 60 * 1000;

/**
 * The delay a server asked for, in milliseconds, in the order the providers define:
 * `retry-after-ms` (OpenAI), then `retry-after` as delta-seconds or HTTP-date (RFC 9110).
 * Rate-limit reset headers are a fallback that only a 429 may use (see `rateLimitResetMs`).
 */
export function retryAfterMs(headers: HeaderSource, now: number = Date.now()): number | undefined {
  const ms = parseNumber(headerValue(headers, 'retry-after-ms'));
  if (ms !== undefined) return clamp(ms);
  const value = headerValue(headers, 'retry-after')?.trim();
  if (!value) return undefined;
  const seconds = parseNumber(value);
  if (seconds !== undefined) return clamp(seconds * 1000);
  // All three HTTP-date forms (RFC 9110 §5.6.7) start with a day name; Date.parse alone would
  // also accept "-5" as a year.
  const date = /^[A-Za-z]{3}/.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(date) ? undefined : clamp(date - now);
}

/** `x-should-retry: true|false` (OpenAI, Anthropic) overrides the status rules either way. */
export function shouldRetryHeader(headers: HeaderSource): boolean | undefined {
  const value = headerValue(headers, 'x-should-retry')?.trim().toLowerCase();
  return value === 'true' ? true : value === 'false' ? false : undefined;
}

/**
 * When a 429 carries no Retry-After, the provider's reset headers say when capacity returns:
 * OpenAI `x-ratelimit-reset-requests|tokens` ("1s", "6m0s", "20ms"), Anthropic
 * `anthropic-ratelimit-*-reset` (RFC 3339), and the IETF draft `ratelimit-reset` (seconds).
 * The longest of the exhausted limits wins.
 */
export function rateLimitResetMs(headers: HeaderSource, now: number = Date.now()): number | undefined {
  const candidates = [
    parseDuration(headerValue(headers, 'x-ratelimit-reset-requests')),
    parseDuration(headerValue(headers, 'x-ratelimit-reset-tokens')),
    parseInstant(headerValue(headers, 'anthropic-ratelimit-requests-reset'), now),
    parseInstant(headerValue(headers, 'anthropic-ratelimit-tokens-reset'), now),
    parseInstant(headerValue(headers, 'anthropic-ratelimit-input-tokens-reset'), now),
    parseInstant(headerValue(headers, 'anthropic-ratelimit-output-tokens-reset'), now),
    mapSeconds(parseNumber(headerValue(headers, 'ratelimit-reset'))),
  ].filter((v): v is number => v !== undefined);
  return candidates.length === 0 ? undefined : clamp(Math.max(...candidates));
}

function parseNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+(\.\d+)?\s*$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function mapSeconds(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : seconds * 1000;
}

const DURATION_UNITS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Go-style durations as OpenAI sends them: "1s", "6m0s", "1h2m3.5s", "20ms". */
export function parseDuration(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const parts = [...value.trim().matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value.trim()) return undefined;
  return parts.reduce((total, [, n, unit]) => total + Number(n) * (DURATION_UNITS[unit as string] ?? 0), 0);
}

function parseInstant(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : at - now;
}

function clamp(ms: number): number {
  return Math.min(Math.max(0, Math.ceil(ms)), MAX_HEADER_DELAY_MS);
}

/**
 * Google APIs (Gemini) say how long to wait in the body, not a header: a `google.rpc.RetryInfo`
 * entry in `error.details` with `retryDelay` as a duration string ("12s", "1.5s").
 */
export function googleRetryDelayMs(body: unknown): number | undefined {
  const details = (body as { error?: { details?: unknown } } | null | undefined)?.error?.details;
  if (!Array.isArray(details)) return undefined;
  for (const detail of details as Array<{ '@type'?: unknown; retryDelay?: unknown }>) {
    if (typeof detail?.['@type'] !== 'string' || !detail['@type'].endsWith('google.rpc.RetryInfo')) continue;
    const match = typeof detail.retryDelay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(detail.retryDelay) : null;
    if (match) return Math.min(Math.round(Number(match[1]) * 1000), 86_400_000);
  }
  return undefined;
}
