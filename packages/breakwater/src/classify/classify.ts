import { BreakwaterError, isBreakwaterError, type Origin } from '../errors/breakwater-error.js';
import { dependencyCode, Errors } from '../errors/codes.js';
import { fromZodError } from '../errors/validation.js';
import { redact } from '../redact/redactor.js';
import { currentCorrelationId } from '../correlation/correlation.js';
import { defineRules, NO_DELAY, type Rule, type Signal } from './rule.js';
import { causeChain, readString } from './walk.js';
import { classifyAbort } from './sources/abort.js';
import { classifyAws } from './sources/aws.js';
import { classifyHttpLike } from './sources/http.js';
import { classifyInvalidResponse } from './sources/invalid-response.js';
import { classifyLlmSdk } from './sources/llm.js';
import { classifyNetwork } from './sources/network.js';
import { classifyPostgres } from './sources/postgres.js';
import { classifyRedis } from './sources/redis.js';
import { classifySqlite } from './sources/sqlite.js';
import { classifyVercelAi } from './sources/vercel-ai.js';

/** Looks at one value of a cause chain and says what it is, or nothing. Must not throw. */
export type Classifier = (value: unknown) => Signal | undefined;

/** Most specific first: SDK shapes before the generic socket codes and HTTP statuses they wrap. */
export const DEFAULT_CLASSIFIERS: readonly Classifier[] = [
  classifyLlmSdk,
  classifyVercelAi,
  classifyAws,
  classifyRedis,
  classifyPostgres,
  classifySqlite,
  classifyNetwork,
  classifyAbort,
  classifyHttpLike,
  classifyInvalidResponse,
];

export const FALLBACK_RULES = defineRules('unknown', 'Anything else', {
  unclassified: {
    signal: 'no rule matched (any value, including non-Error throws)',
    category: 'internal',
    retryable: false,
    delay: NO_DELAY,
    origin: 'self',
    code: 'INTERNAL_ERROR',
  },
});

export interface ClassifyOptions {
  /**
   * Who produced the value. `dependency` (default) for failures of calls we made; `caller` when
   * the value came from checking the caller's input (a SyntaxError or ZodError is then the
   * caller's validation error, not an invalid response).
   */
  origin?: 'caller' | 'dependency';
  /** Names the dependency (`openai`, `billing-api`), overriding what the classifier detected. */
  dependency?: string;
  /** Code domain override: errors become `${domain}_${issue}` (e.g. `PAYMENTS_TIMEOUT`). */
  domain?: string;
  correlationId?: string;
  /** Tried before the built-in classifiers, on every value of the cause chain. */
  classifiers?: readonly Classifier[];
}

const MAX_MESSAGE_LENGTH = 2000;

/**
 * Turns any thrown value into a BreakwaterError, exactly once: a value that already is one is
 * returned as it is. Walks `cause` chains and AggregateErrors; never throws; unknown → `internal`.
 */
export function classify(value: unknown, options: ClassifyOptions = {}): BreakwaterError {
  if (isBreakwaterError(value)) {
    if (value.correlationId === undefined && options.correlationId !== undefined)
      value.correlationId = options.correlationId;
    return value;
  }
  if (options.origin === 'caller') {
    const callerError = classifyCallerInput(value, options);
    if (callerError) return callerError;
  }
  const signal = findSignal(value, options.classifiers);
  return fromSignal(signal ?? { rule: FALLBACK_RULES.unclassified, domain: 'INTERNAL' }, value, options);
}

function classifyCallerInput(value: unknown, options: ClassifyOptions): BreakwaterError | undefined {
  const zod = fromZodError(value);
  const error =
    zod ??
    (readString(value, 'name') === 'SyntaxError'
      ? Errors.malformedBody({ message: messageOf(value), cause: value })
      : undefined);
  if (error && options.correlationId !== undefined) error.correlationId = options.correlationId;
  return error;
}

function findSignal(value: unknown, custom: readonly Classifier[] = []): Signal | undefined {
  let weak: Signal | undefined;
  for (const node of causeChain(value)) {
    const signal = firstMatch(node, custom) ?? firstMatch(node, DEFAULT_CLASSIFIERS);
    if (!signal) continue;
    if (!signal.rule.weak) return weak ? inheritSource(signal, weak) : signal;
    weak ??= signal;
  }
  return weak;
}

function firstMatch(node: unknown, classifiers: readonly Classifier[]): Signal | undefined {
  for (const classifier of classifiers) {
    try {
      const signal = classifier(node);
      if (signal) return signal;
    } catch {
      // A classifier that trips over a hostile value must not take classification down with it.
    }
  }
  return undefined;
}

/** A cause found under a wrapper says *what* failed; the wrapper says *which dependency* it was. */
function inheritSource(inner: Signal, outer: Signal): Signal {
  return { ...inner, domain: outer.domain, dependency: outer.dependency ?? inner.dependency };
}

export function fromSignal(signal: Signal, value: unknown, options: ClassifyOptions = {}): BreakwaterError {
  return buildError(signal, messageOf(value), value, options);
}

/** What the program itself found out, in a rule's terms: the message is ours (it is redacted all the same). */
export interface RuleFacts {
  /** Code domain (`LLM`, `UPSTREAM` …). */
  domain: string;
  message: string;
  dependency?: string;
  details?: Record<string, unknown>;
  retryAfterMs?: number;
  upstreamStatus?: number;
  cause?: unknown;
  correlationId?: string;
}

/**
 * An error made from a row of the classification table, for failures the program detects itself
 * (an empty result, a stream cut before its end) rather than catches: it carries the row's id, so
 * it is documented in docs/errors.md like any classified error.
 */
export function fromRule(rule: Rule, facts: RuleFacts): BreakwaterError {
  const signal: Signal = {
    rule,
    domain: facts.domain,
    ...(facts.dependency !== undefined ? { dependency: facts.dependency } : {}),
    ...(facts.details !== undefined ? { details: facts.details } : {}),
    ...(facts.retryAfterMs !== undefined ? { retryAfterMs: facts.retryAfterMs } : {}),
    ...(facts.upstreamStatus !== undefined ? { upstreamStatus: facts.upstreamStatus } : {}),
  };
  return buildError(signal, redact.string(facts.message.slice(0, MAX_MESSAGE_LENGTH)), facts.cause, {
    ...(facts.correlationId !== undefined ? { correlationId: facts.correlationId } : {}),
  });
}

function buildError(signal: Signal, message: string, cause: unknown, options: ClassifyOptions): BreakwaterError {
  const { rule } = signal;
  const origin: Origin = rule.origin ?? options.origin ?? 'dependency';
  return new BreakwaterError({
    code: rule.code ?? dependencyCode(options.domain ?? signal.domain, rule.category),
    category: rule.category,
    origin,
    dependency: options.dependency ?? signal.dependency,
    upstreamStatus: signal.upstreamStatus,
    retryable: signal.retryable ?? rule.retryable,
    retryAfterMs: signal.retryAfterMs,
    details: signal.details,
    message,
    cause,
    ...(rule.userMessage !== undefined ? { userMessage: rule.userMessage } : {}),
    // Inside a request, the error carries its correlation id even when the caller did not pass it.
    correlationId: options.correlationId ?? currentCorrelationId(),
    rule: rule.id,
  });
}

function messageOf(value: unknown): string {
  let text: string;
  try {
    const message = readString(value, 'message');
    text = message ?? (typeof value === 'string' ? value : safeString(value));
  } catch {
    text = 'Unprintable thrown value';
  }
  if (text.length > MAX_MESSAGE_LENGTH) text = `${text.slice(0, MAX_MESSAGE_LENGTH)}…`;
  return redact.string(text);
}

function safeString(value: unknown): string {
  if (value === null || value === undefined || typeof value !== 'object')
    return `Thrown ${typeof value}: ${String(value)}`;
  try {
    return `Thrown object: ${JSON.stringify(value)?.slice(0, MAX_MESSAGE_LENGTH) ?? '{}'}`;
  } catch {
    return 'Thrown object (not serialisable)';
  }
}
