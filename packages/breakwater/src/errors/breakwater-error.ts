import { CATEGORY_TABLE, CONFIGURATION_CATEGORIES, type Category } from './categories.js';
import { redact } from '../redact/redactor.js';

/** Where an error came from: the caller's request, a dependency we called, or our own code. */
export type Origin = 'caller' | 'dependency' | 'self';

// A registered symbol makes `instanceof` and `isBreakwaterError` work across two installed copies.
const BRAND = Symbol.for('breakwater.error');

export interface BreakwaterErrorInit {
  code: string;
  category: Category;
  message?: string;
  origin?: Origin;
  /** The dependency's name when origin is `dependency` (e.g. `openai`, `redis`, `api.example.com`). */
  dependency?: string;
  /** HTTP status for the client; derived from category and origin when omitted. */
  status?: number;
  /** Status the dependency answered with, if any. */
  upstreamStatus?: number;
  retryable?: boolean;
  retryAfterMs?: number;
  /** Safe, client-visible structured details (never rendered on 5xx). */
  details?: Record<string, unknown>;
  userMessage?: string;
  cause?: unknown;
  correlationId?: string;
  /** Which classification rule produced this error (see docs/errors.md). */
  rule?: string;
  timestamp?: string;
}

/**
 * The one error type everything downstream decides from. Create it directly, through a code
 * factory (`defineError`), or let `classify` turn any thrown value into one.
 */
export class BreakwaterError extends Error {
  readonly code: string;
  readonly category: Category;
  readonly origin: Origin;
  readonly dependency: string | undefined;
  readonly status: number;
  readonly upstreamStatus: number | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly userMessage: string;
  readonly rule: string | undefined;
  readonly timestamp: string;
  correlationId: string | undefined;

  constructor(init: BreakwaterErrorInit) {
    const policy = CATEGORY_TABLE[init.category];
    super(init.message ?? policy.userMessage, init.cause === undefined ? undefined : { cause: init.cause });
    Object.defineProperty(this, BRAND, { value: true });
    this.code = init.code;
    this.category = init.category;
    this.origin = init.origin ?? 'self';
    this.dependency = init.dependency;
    this.status = init.status ?? clientStatus(init.category, this.origin);
    this.upstreamStatus = init.upstreamStatus;
    this.retryable = init.retryable ?? policy.retryable;
    this.retryAfterMs = init.retryAfterMs;
    this.details = init.details;
    this.userMessage = init.userMessage ?? policy.userMessage;
    this.correlationId = init.correlationId;
    this.rule = init.rule;
    this.timestamp = init.timestamp ?? new Date().toISOString();
  }

  override get name(): string {
    return 'BreakwaterError';
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isBreakwaterError(value);
  }

  /** Counts against a circuit breaker: the dependency is at fault, not the request. */
  get isDependencyFault(): boolean {
    return CATEGORY_TABLE[this.category].breakerFault;
  }

  get logLevel(): 'info' | 'warn' | 'error' {
    if (this.origin === 'dependency' && CONFIGURATION_CATEGORIES.has(this.category)) return 'error';
    return CATEGORY_TABLE[this.category].logLevel;
  }

  /** A serialisation safe to log or send: secrets redacted, causes summarised, no stack. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      category: this.category,
      origin: this.origin,
      dependency: this.dependency,
      status: this.status,
      upstreamStatus: this.upstreamStatus,
      retryable: this.retryable,
      retryAfterMs: this.retryAfterMs,
      message: redact.string(this.message),
      userMessage: this.userMessage,
      details: this.details === undefined ? undefined : redact.value(this.details),
      correlationId: this.correlationId,
      rule: this.rule,
      timestamp: this.timestamp,
      cause: summariseCause(this.cause),
    };
  }
}

export function isBreakwaterError(value: unknown): value is BreakwaterError {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return (value as Record<symbol, unknown>)[BRAND] === true;
  } catch {
    return false; // a hostile Proxy is certainly not ours
  }
}

/**
 * The status a client sees. A dependency rejecting *our* credentials or configuration
 * (401/403/404 upstream) is not the caller's fault: the client gets 502, never "log in again".
 */
export function clientStatus(category: Category, origin: Origin): number {
  if (origin === 'dependency' && CONFIGURATION_CATEGORIES.has(category)) return 502;
  return CATEGORY_TABLE[category].status;
}

function summariseCause(cause: unknown): unknown {
  if (cause === undefined) return undefined;
  try {
    return describeCause(cause);
  } catch {
    return 'Unreadable cause';
  }
}

function describeCause(cause: unknown): unknown {
  if (isBreakwaterError(cause)) return cause.toJSON();
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return {
      name: cause.name,
      message: redact.string(cause.message),
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    };
  }
  return redact.value(typeof cause === 'object' ? cause : String(cause));
}
