// breakwater: the error model, classification, policies, the journal, health and telemetry.
// Integrations and helpers live behind subpaths: breakwater/agent, /batch, /http, /rules,
// /testing, /fastify, /express, /hono, /pino, /prometheus, /otel, /journal-sqlite, /journal-postgres.

// errors: the model everything decides from
export {
  CATEGORIES,
  CATEGORY_TABLE,
  isCategory,
  type Category,
  type CategoryPolicy,
  type LogLevel,
} from './errors/categories.js';
export {
  BreakwaterError,
  isBreakwaterError,
  clientStatus,
  type BreakwaterErrorInit,
  type Origin,
} from './errors/breakwater-error.js';
export {
  defineError,
  type ErrorCodeDefinition,
  type ErrorFactory,
  type ErrorFactoryInit,
} from './errors/define-error.js';
export { definedErrorCodes, errorCodeDefinition } from './errors/registry.js';
export { Errors } from './errors/codes.js';
export { validationError, fromZodError, collectIssues, IssueCollector, type FieldIssue } from './errors/validation.js';
export {
  toProblemDetails,
  toEnvelope,
  errorHeaders,
  retryAfterSeconds,
  PROBLEM_CONTENT_TYPE,
  type ProblemDetails,
  type Envelope,
  type RenderOptions,
} from './errors/render.js';

// redaction: before anything leaves the process
export {
  createRedactor,
  redact,
  REDACTED,
  DEFAULT_SECRET_KEYS,
  DEFAULT_SECRET_PATTERNS,
  type Redactor,
  type RedactorOptions,
} from './redact/redactor.js';

// classify: any thrown value → BreakwaterError, once (the rule table is breakwater/rules)
export { classify, fromRule, type ClassifyOptions, type RuleFacts } from './classify/classify.js';
export { classifyResponse, type FailedResponse } from './classify/classify-response.js';
export { classifyStreamEvent } from './classify/classify-stream-event.js';

// policies: composed outermost first, decided by category
export { systemClock, type Clock } from './policies/clock.js';
export { Cancellation, toSignal, type AbortSource, type CancelSource } from './policies/cancellation.js';
export type { CallContext, CallOptions, CallView, Degradation } from './policies/context.js';
export { CallTrail, type BranchRecord } from './policies/call-trail.js';
export { pipeline, type Pipeline, type PipelineOptions, type PipelineEvents } from './policies/pipeline.js';
export type { Policy, Callee, Next } from './policies/policy.js';
export { runSettling, type SettlingPolicy } from './policies/settling.js';
export { timeout, TimeoutPolicy, type TimeoutOptions, type TimeoutEvents } from './policies/timeout.js';
export {
  retry,
  RetryPolicy,
  type RetryOptions,
  type RetryEvents,
  type GiveUpReason,
} from './policies/retry/retry-policy.js';
export { retryBudget, RetryBudget, type RetryBudgetOptions } from './policies/retry/retry-budget.js';
export type { StateStore, CircuitRecord, TokenRate, RetryCreditSettings } from './policies/state/state-store.js';
export { localState, LocalStateStore, type LocalStateOptions } from './policies/state/local-state-store.js';
export type { Backoff, Random, ExponentialOptions } from './policies/retry/backoff/backoff.js';
export { fullJitter } from './policies/retry/backoff/full-jitter.js';
export { equalJitter } from './policies/retry/backoff/equal-jitter.js';
export { decorrelatedJitter } from './policies/retry/backoff/decorrelated-jitter.js';
export { noJitter, constantBackoff } from './policies/retry/backoff/no-jitter.js';
export {
  circuitBreaker,
  CircuitBreakerPolicy,
  type CircuitBreakerOptions,
  type CircuitSnapshot,
  type BreakerEvents,
} from './policies/breaker/circuit-breaker.js';
export type { CircuitState } from './policies/breaker/circuit.js';
export { consecutiveFailures } from './policies/breaker/consecutive-failures.js';
export { failureRate, type FailureRateOptions } from './policies/breaker/failure-rate.js';
export type { BreakerStrategy, FailureCounter } from './policies/breaker/failure-counter.js';
export { bulkhead, BulkheadPolicy, type BulkheadOptions, type BulkheadEvents } from './policies/bulkhead.js';
export {
  rateLimiter,
  RateLimiterPolicy,
  type RateLimiterOptions,
  type RateLimiterEvents,
} from './policies/rate-limiter.js';
export { fallback, FallbackPolicy, type FallbackRule, type FallbackEvents } from './policies/fallback.js';
export {
  alternatives,
  AlternativesPolicy,
  NEVER_MOVE_ON,
  type Branch,
  type AlternativesOptions,
  type AlternativesEvents,
} from './policies/alternatives.js';
export { hedge, HedgePolicy, type HedgeOptions, type HedgeEvents } from './policies/hedge.js';
export { watchdog, type Watchdog, type WatchdogOptions } from './policies/watchdog.js';

// journal: operations with one terminal state each
export { Journal, type JournalOptions, type JournalHealth, type DeferredOutcome } from './journal/journal.js';
export { runOperation, type RunOperationOptions, type OperationContext } from './journal/run-operation.js';
export { MemoryJournalStore, type MemoryJournalOptions } from './journal/memory-store.js';
export type { JournalStore } from './journal/journal-store.js';
export {
  isTerminal,
  type Operation,
  type OperationStatus,
  type NewOperation,
  type OperationQuery,
  type TransitionGuard,
  type TransitionPatch,
  type FinishedStatus,
} from './journal/operation.js';

// correlation, health and telemetry
export {
  runWithCorrelation,
  currentCorrelationId,
  currentRequestScope,
  requestScopeFrom,
  type RequestScope,
} from './correlation/correlation.js';
export {
  createHealth,
  HEALTH_CONTENT_TYPE,
  type Health,
  type HealthOptions,
  type HealthReport,
  type HealthStatus,
  type DependencyCheck,
} from './observe/health.js';
export { instrument, subscribeTelemetry, type TelemetrySink } from './observe/telemetry.js';
export { TELEMETRY_CHANNEL, type PublishedEvent } from './policies/events.js';
export type { TelemetryEvents } from './policies/telemetry-events.js';
