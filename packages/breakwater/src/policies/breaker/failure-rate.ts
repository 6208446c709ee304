import type { BreakerStrategy } from './failure-counter.js';

export interface FailureRateOptions {
  /** Fraction of calls that must fail to open. Default 0.5. */
  threshold?: number;
  /** The sliding window (ms). Default 30,000. */
  windowMs?: number;
  /** No decision below this many calls in the window. Default 20. */
  minimumThroughput?: number;
  /** Window resolution: the window slides one bucket at a time. Default 10. */
  buckets?: number;
}

/**
 * Opens when the failure rate over a sliding time window crosses the threshold, once the window
 * has seen enough calls. Buckets rotate lazily on each call: no timer per breaker.
 */
export function failureRate(options: FailureRateOptions = {}): BreakerStrategy {
  const threshold = options.threshold ?? 0.5;
  const windowMs = options.windowMs ?? 30_000;
  const minimumThroughput = options.minimumThroughput ?? 20;
  const bucketCount = options.buckets ?? 10;
  if (!(threshold > 0 && threshold <= 1)) throw new TypeError(`Expected \`threshold\` in (0, 1], got ${threshold}.`);
  if (!(windowMs > 0)) throw new TypeError(`Expected \`windowMs\` > 0, got ${windowMs}.`);
  if (!Number.isInteger(bucketCount) || bucketCount < 1)
    throw new TypeError(`Expected \`buckets\` to be an integer ≥ 1, got ${bucketCount}.`);
  const bucketMs = windowMs / bucketCount;

  return () => {
    const calls = new Float64Array(bucketCount);
    const failures = new Float64Array(bucketCount);
    let totalCalls = 0;
    let totalFailures = 0;
    let currentBucket = -1; // absolute bucket number of the newest bucket

    const rotate = (now: number): number => {
      const bucket = Math.floor(now / bucketMs);
      if (currentBucket < 0) currentBucket = bucket;
      const steps = Math.min(bucket - currentBucket, bucketCount);
      for (let i = 1; i <= steps; i++) {
        const slot = (currentBucket + i) % bucketCount;
        totalCalls -= calls[slot]!;
        totalFailures -= failures[slot]!;
        calls[slot] = 0;
        failures[slot] = 0;
      }
      if (bucket > currentBucket) currentBucket = bucket;
      return currentBucket % bucketCount;
    };
    const reset = (): void => {
      calls.fill(0);
      failures.fill(0);
      totalCalls = 0;
      totalFailures = 0;
    };

    return {
      usesTime: true,
      success: (now) => {
        calls[rotate(now)]!++;
        totalCalls++;
      },
      failure: (now) => {
        const slot = rotate(now);
        calls[slot]!++;
        failures[slot]!++;
        totalCalls++;
        totalFailures++;
        return totalCalls >= minimumThroughput && totalFailures / totalCalls >= threshold;
      },
      reset,
      snapshot: (now) => {
        rotate(now);
        return { failures: totalFailures, calls: totalCalls };
      },
    };
  };
}
