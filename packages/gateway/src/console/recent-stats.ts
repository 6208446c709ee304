import type { RequestOutcome } from '../server/request-outcome.js';

/** Seconds per bucket and buckets kept: the console's window is the last 5 minutes. */
export const BUCKET_MS = 10_000;
const BUCKETS = 30;

interface UpstreamBucket {
  attempts: number;
  failures: number;
  /** Succeeded attempts and their summed latency (ms). */
  succeeded: number;
  latencyMs: number;
}

interface Bucket {
  start: number;
  upstreams: Map<string, UpstreamBucket>;
  /** Failed requests by `category/code`. */
  errors: Map<string, number>;
  requests: number;
}

export interface UpstreamWindow {
  attempts: number;
  failureRate: number;
  /** Mean latency of succeeded attempts (ms), null without any. */
  latencyMs: number | null;
}

export interface ErrorSeries {
  bucketMs: number;
  /** Bucket start times (ms), oldest first. */
  at: number[];
  requests: number[];
  /** `category/code` → failed requests per bucket. */
  errors: Record<string, number[]>;
}

/**
 * What the console shows of the last minutes, fed by every finished request (its attempt trail):
 * per upstream the attempts, failure rate and latency; errors by category and code over time.
 * Fixed-size buckets: memory does not grow with traffic, only with distinct keys and codes.
 */
export class RecentStats {
  private buckets: Bucket[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  record = (done: RequestOutcome): void => {
    const bucket = this.current();
    bucket.requests++;
    for (const attempt of done.trail.log) {
      const stats = bucket.upstreams.get(attempt.key) ?? { attempts: 0, failures: 0, succeeded: 0, latencyMs: 0 };
      bucket.upstreams.set(attempt.key, stats);
      if (attempt.outcome === 'rejected') continue;
      stats.attempts++;
      if (attempt.outcome === 'failed') stats.failures++;
      else {
        stats.succeeded++;
        stats.latencyMs += attempt.durationMs;
      }
    }
    if (done.outcome === 'failure' && done.error) {
      const key = `${done.error.category}/${done.error.code}`;
      bucket.errors.set(key, (bucket.errors.get(key) ?? 0) + 1);
    }
  };

  upstream(key: string): UpstreamWindow {
    let attempts = 0;
    let failures = 0;
    let succeeded = 0;
    let latency = 0;
    for (const bucket of this.live()) {
      const stats = bucket.upstreams.get(key);
      if (!stats) continue;
      attempts += stats.attempts;
      failures += stats.failures;
      succeeded += stats.succeeded;
      latency += stats.latencyMs;
    }
    return {
      attempts,
      failureRate: attempts === 0 ? 0 : failures / attempts,
      latencyMs: succeeded === 0 ? null : Math.round(latency / succeeded),
    };
  }

  errors(): ErrorSeries {
    const newest = Math.floor(this.now() / BUCKET_MS) * BUCKET_MS;
    const at = Array.from({ length: BUCKETS }, (_, i) => newest - (BUCKETS - 1 - i) * BUCKET_MS);
    const byStart = new Map(this.live().map((bucket) => [bucket.start, bucket]));
    const codes = new Set(this.live().flatMap((bucket) => [...bucket.errors.keys()]));
    return {
      bucketMs: BUCKET_MS,
      at,
      requests: at.map((start) => byStart.get(start)?.requests ?? 0),
      errors: Object.fromEntries(
        [...codes].map((code) => [code, at.map((start) => byStart.get(start)?.errors.get(code) ?? 0)]),
      ),
    };
  }

  private current(): Bucket {
    const start = Math.floor(this.now() / BUCKET_MS) * BUCKET_MS;
    let bucket = this.buckets.at(-1);
    if (bucket?.start !== start) {
      bucket = { start, upstreams: new Map(), errors: new Map(), requests: 0 };
      this.buckets.push(bucket);
      this.buckets = this.live();
    }
    return bucket;
  }

  private live(): Bucket[] {
    const oldest = Math.floor(this.now() / BUCKET_MS) * BUCKET_MS - (BUCKETS - 1) * BUCKET_MS;
    return this.buckets.filter((bucket) => bucket.start >= oldest);
  }
}
