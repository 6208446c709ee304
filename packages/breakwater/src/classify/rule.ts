import type { Category } from '../errors/categories.js';
import type { Origin } from '../errors/breakwater-error.js';

/**
 * One row of the classification table. Classifiers return signals built *from* these rows, so the
 * table in docs/errors.md (generated from them) cannot drift from what the code does.
 */
export interface Rule {
  /** Stable id, `source.signal` (e.g. `pg.serialization_failure`); carried on the error as `rule`. */
  readonly id: string;
  /** Human name of the source, for the docs (e.g. `pg (SQLSTATE)`). */
  readonly source: string;
  /** The signal that triggers the rule, for the docs. */
  readonly signal: string;
  readonly category: Category;
  readonly retryable: boolean;
  /** How the retry delay is chosen, for the docs. */
  readonly delay: string;
  /** Who is at fault; defaults to `dependency`. */
  readonly origin?: Origin;
  /**
   * A weak rule describes a wrapper (e.g. "connection error") whose cause may say more; the
   * classifier keeps looking down the cause chain and uses a stronger rule if one matches.
   */
  readonly weak?: boolean;
  /** A fixed error code, when the derived `${DOMAIN}_${suffix}` is not specific enough. */
  readonly code?: string;
  /** What a client is told, when the category's generic message would mislead (safe to show). */
  readonly userMessage?: string;
}

/** What a classifier found: a rule plus the facts read from the value. */
export interface Signal {
  readonly rule: Rule;
  /** Code domain (`LLM`, `REDIS`, `POSTGRES`, `AWS`, `UPSTREAM`). */
  readonly domain: string;
  readonly dependency?: string;
  readonly retryable?: boolean;
  readonly retryAfterMs?: number;
  readonly upstreamStatus?: number;
  readonly details?: Record<string, unknown>;
}

export function defineRules<const T extends Record<string, Omit<Rule, 'id' | 'source'>>>(
  prefix: string,
  source: string,
  rows: T,
): { readonly [K in keyof T]: Rule } {
  const out: Record<string, Rule> = {};
  for (const [key, row] of Object.entries(rows)) out[key] = { id: `${prefix}.${key}`, source, ...row };
  return out as { readonly [K in keyof T]: Rule };
}

export const NO_DELAY = '–';
export const BACKOFF = 'backoff';
export const HEADER_DELAY = 'retry-after-ms, retry-after (s or HTTP-date), else backoff';
