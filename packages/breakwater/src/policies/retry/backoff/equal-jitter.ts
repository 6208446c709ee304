import { checkBackoffOptions, exponentialCeiling, type Backoff, type ExponentialOptions } from './backoff.js';

/** Half the ceiling for sure, the other half random: never retries almost at once. */
export function equalJitter(options: ExponentialOptions = {}): Backoff {
  const { initialMs, maxMs, factor, random } = checkBackoffOptions(options);
  return {
    delay: (retry) => {
      const ceiling = exponentialCeiling(retry, initialMs, factor, maxMs);
      return ceiling / 2 + random() * (ceiling / 2);
    },
  };
}
