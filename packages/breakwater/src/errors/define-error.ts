import { isCategory, type Category } from './categories.js';
import { BreakwaterError, isBreakwaterError, type Origin } from './breakwater-error.js';

/** A documented error code: the same shape for built-in codes and users' own. */
export interface ErrorCodeDefinition {
  /** `DOMAIN_RESOURCE_ISSUE`, upper snake case, at least two parts. */
  readonly code: string;
  readonly category: Category;
  readonly origin?: Origin;
  /** Overrides the status derived from category and origin. */
  readonly status?: number;
  readonly retryable?: boolean;
  /** Default internal message. */
  readonly message?: string;
  /** Default client-safe message. */
  readonly userMessage?: string;
  /** One line: when this error happens. */
  readonly description: string;
  /** One line: what to do about it. */
  readonly howToSolve?: string;
}

export interface ErrorFactoryInit {
  message?: string;
  userMessage?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
  retryAfterMs?: number;
  dependency?: string;
  correlationId?: string;
}

export interface ErrorFactory {
  (init?: ErrorFactoryInit): BreakwaterError;
  readonly code: string;
  readonly definition: ErrorCodeDefinition;
  /** Narrows any value to an error with this code. */
  is(value: unknown): value is BreakwaterError;
}

const CODE_FORMAT = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;
const registry = new Map<string, ErrorCodeDefinition>();

/**
 * Defines an error code and returns its factory. Codes are global: defining the same code twice with
 * a different category is a programming error and throws at start-up rather than later.
 */
export function defineError(definition: ErrorCodeDefinition): ErrorFactory {
  assertDefinition(definition);
  const existing = registry.get(definition.code);
  if (existing && (existing.category !== definition.category || existing.origin !== definition.origin)) {
    throw new TypeError(
      `Error code ${definition.code} is already defined with category ${existing.category}; codes must be unique.`,
    );
  }
  registry.set(definition.code, definition);

  const factory = (init: ErrorFactoryInit = {}): BreakwaterError =>
    new BreakwaterError({
      code: definition.code,
      category: definition.category,
      origin: definition.origin,
      status: definition.status,
      retryable: definition.retryable,
      message: init.message ?? definition.message ?? definition.description,
      userMessage: init.userMessage ?? definition.userMessage,
      details: init.details,
      cause: init.cause,
      retryAfterMs: init.retryAfterMs,
      dependency: init.dependency,
      correlationId: init.correlationId,
    });
  return Object.assign(factory, {
    code: definition.code,
    definition,
    is: (value: unknown): value is BreakwaterError => isBreakwaterError(value) && value.code === definition.code,
  });
}

/** Codes defined with `defineError` so far (built-in ones too); see `definedErrorCodes()` in registry.ts. */
export function userDefinedErrorCodes(): ErrorCodeDefinition[] {
  return [...registry.values()];
}

function assertDefinition(definition: ErrorCodeDefinition): void {
  if (typeof definition.code !== 'string' || !CODE_FORMAT.test(definition.code)) {
    throw new TypeError(
      `Expected \`code\` in DOMAIN_RESOURCE_ISSUE form (upper snake case, two parts or more), got ${JSON.stringify(definition.code)}.`,
    );
  }
  if (!isCategory(definition.category)) {
    throw new TypeError(
      `Expected \`category\` to be one of the breakwater categories, got ${JSON.stringify(definition.category)}.`,
    );
  }
  if (
    definition.status !== undefined &&
    !(Number.isInteger(definition.status) && definition.status >= 400 && definition.status <= 599)
  ) {
    throw new TypeError(`Expected \`status\` to be an HTTP error status (400-599), got ${String(definition.status)}.`);
  }
  if (typeof definition.description !== 'string' || definition.description.length === 0) {
    throw new TypeError(`Expected \`description\` for ${definition.code}: every code is documented.`);
  }
}
