// breakwater/rules: the classification table itself, for docs, tests and custom classifiers.
export { CLASSIFICATION_RULES, RULES } from './rules.js';
export { defineRules, NO_DELAY, BACKOFF, HEADER_DELAY, type Rule, type Signal } from './rule.js';
export { DEFAULT_CLASSIFIERS, type Classifier } from './classify.js';
export { DEPENDENCY_CODE_SUFFIX, dependencyCode } from '../errors/codes.js';
export { retryAfterMs, rateLimitResetMs, shouldRetryHeader, parseDuration } from './retry-after.js';
export { causeChain } from './walk.js';
