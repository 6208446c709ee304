import { httpSignal, ruleForStatus } from '../http-status.js';
import { BACKOFF, defineRules, HEADER_DELAY, NO_DELAY, type Signal } from '../rule.js';
import { read, readNumber, readString } from '../walk.js';

export const AWS_RULES = defineRules('aws', 'AWS SDK v3 (smithy)', {
  throttling: {
    signal:
      '$retryable.throttling, or name SlowDown, Throttling, ThrottlingException, TooManyRequestsException, RequestLimitExceeded, ProvisionedThroughputExceededException, … (smithy list)',
    category: 'rate_limited',
    retryable: true,
    delay: HEADER_DELAY,
  },
  timeout: {
    signal: 'name TimeoutError, RequestTimeout, RequestTimeoutException',
    category: 'timeout',
    retryable: true,
    delay: BACKOFF,
  },
  credentials: {
    signal:
      'name InvalidAccessKeyId, SignatureDoesNotMatch, UnrecognizedClientException, InvalidClientTokenId, ExpiredToken(Exception), CredentialsProviderError',
    category: 'authentication',
    retryable: false,
    delay: NO_DELAY,
  },
  transient: {
    signal: '$retryable set (no throttling flag), or $fault server with no status',
    category: 'upstream_server',
    retryable: true,
    delay: BACKOFF,
  },
});

const THROTTLING = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);
const TIMEOUT = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const CREDENTIALS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredToken',
  'ExpiredTokenException',
  'CredentialsProviderError',
]);

/** Service exceptions carry `$metadata` (and usually `$fault`); the name is the service's error code. */
export function classifyAws(value: unknown): Signal | undefined {
  const metadata = read(value, '$metadata');
  const name = readString(value, 'name') ?? '';
  if (metadata === undefined && name !== 'CredentialsProviderError') return undefined;
  const status = readNumber(metadata, 'httpStatusCode');
  const headers = read(read(value, '$response'), 'headers');
  const retryable = read(value, '$retryable');
  const dependency = 'aws';
  const signal = (rule: (typeof AWS_RULES)[keyof typeof AWS_RULES]): Signal => ({
    ...httpSignal(rule, status, headers, 'AWS', dependency),
    details: { awsErrorName: name },
  });
  if (THROTTLING.has(name) || read(retryable, 'throttling') === true) return signal(AWS_RULES.throttling);
  if (TIMEOUT.has(name)) return signal(AWS_RULES.timeout);
  if (CREDENTIALS.has(name)) return signal(AWS_RULES.credentials);
  if (retryable !== undefined && retryable !== null) return signal(AWS_RULES.transient);
  const rule = status === undefined ? undefined : ruleForStatus(status);
  if (rule) return signal(rule);
  return read(value, '$fault') === 'server' ? signal(AWS_RULES.transient) : undefined;
}
