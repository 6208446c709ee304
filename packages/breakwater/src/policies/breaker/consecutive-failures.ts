import type { BreakerStrategy } from './failure-counter.js';

/**
 * Opens after `threshold` dependency faults in a row; any success resets the count. With a shared
 * store the faults of every replica count together (a success after a fault resets that count too).
 */
export function consecutiveFailures(threshold = 5): BreakerStrategy {
  if (!Number.isInteger(threshold) || threshold < 1)
    throw new TypeError(`Expected \`threshold\` to be an integer ≥ 1, got ${threshold}.`);
  const strategy = () => {
    let failures = 0;
    return {
      usesTime: false,
      success: () => void (failures = 0),
      failure: () => ++failures >= threshold,
      reset: () => void (failures = 0),
      snapshot: () => ({ failures, calls: failures }),
    };
  };
  return Object.assign(strategy, { fleetThreshold: threshold });
}
