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
  definedErrorCodes,
  errorCodeDefinition,
  type ErrorCodeDefinition,
  type ErrorFactory,
  type ErrorFactoryInit,
} from './errors/define-error.js';
export { Errors, dependencyCode, DEPENDENCY_CODE_SUFFIX } from './errors/codes.js';
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

// classify: any thrown value → BreakwaterError, once
export { classify, DEFAULT_CLASSIFIERS, type Classifier, type ClassifyOptions } from './classify/classify.js';
export { classifyResponse, type FailedResponse } from './classify/classify-response.js';
export { CLASSIFICATION_RULES, RULES } from './classify/rules.js';
export { defineRules, type Rule, type Signal } from './classify/rule.js';
export { retryAfterMs, rateLimitResetMs, shouldRetryHeader, parseDuration } from './classify/retry-after.js';
export { causeChain } from './classify/walk.js';
