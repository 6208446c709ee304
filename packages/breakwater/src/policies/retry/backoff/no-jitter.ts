import { checkBackoffOptions, exponentialCeiling, type Backoff, type ExponentialOptions } from './backoff.js';

/** Plain exponential growth. Synchronises retries across clients: use only where that is wanted. */
export function noJitter(options: ExponentialOptions = {}): Backoff {
  const { initialMs, maxMs, factor } = checkBackoffOptions(options);
  return { delay: (retry) => exponentialCeiling(retry, initialMs, factor, maxMs) };
}

/** The same delay every time. */
export function constantBackoff(ms: number): Backoff {
  if (!(ms >= 0)) throw new TypeError(`Expected a non-negative delay, got ${ms}.`);
  return { delay: () => ms };
}
