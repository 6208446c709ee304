import { checkBackoffOptions, exponentialCeiling, type Backoff, type ExponentialOptions } from './backoff.js';

/**
 * The default: a uniform delay between 0 and the exponential ceiling. Spreads a thundering herd
 * best (AWS architecture blog, "Exponential Backoff And Jitter").
 */
export function fullJitter(options: ExponentialOptions = {}): Backoff {
  const { initialMs, maxMs, factor, random } = checkBackoffOptions(options);
  return { delay: (retry) => random() * exponentialCeiling(retry, initialMs, factor, maxMs) };
}
