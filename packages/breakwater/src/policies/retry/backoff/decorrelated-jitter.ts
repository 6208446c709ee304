import { checkBackoffOptions, type Backoff, type ExponentialOptions } from './backoff.js';

/** Each delay random between the initial delay and three times the previous one, capped. */
export function decorrelatedJitter(options: ExponentialOptions = {}): Backoff {
  const { initialMs, maxMs, random } = checkBackoffOptions(options);
  return {
    delay: (_retry, previousDelay) => {
      const upper = Math.max(initialMs, previousDelay * 3);
      return Math.min(maxMs, initialMs + random() * (upper - initialMs));
    },
  };
}
