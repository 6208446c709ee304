// An open-loop load generator: request i is sent at start + i/rate whatever happened to the ones
// before it, and its latency counts from that moment (so a stalled server is charged for the wait
// of every request it delayed — no coordinated omission). autocannon's `overallRate` is not this:
// each connection sends its share of the second back to back, then idles until the next second,
// so "1,000 req/s on 16 connections" is a 16-deep burst every second and its latency is the
// latency of a queue 16 requests deep. The saturation runs keep autocannon; the fixed rates use this.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { atFixedRate } from '../test/support/fixed-rate.js';

export interface PacedOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Requests per second, evenly spaced. */
  rate: number;
  seconds: number;
  /** Enough that a slow answer does not hold back the next send (default 64). */
  connections?: number;
}

export interface PacedRun {
  requests: number;
  /** Transport errors, timeouts and non-2xx answers. */
  errors: number;
  /** Milliseconds from each request's scheduled send to the end of its answer's body. */
  p50: number;
  p99: number;
  /** Completed requests per second over the run. */
  rps: number;
}

/** Every request's answer is read to its end; a request not answered within 10 s is an error. */
export async function pacedLoad(options: PacedOptions): Promise<PacedRun> {
  const { origin, pathname } = new URL(options.url);
  const pool = new Pool(origin, {
    connections: options.connections ?? 64,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  pool.on('connectionError', () => {}); // counted per request below
  const total = Math.max(1, Math.round(options.rate * options.seconds));
  const spacingMs = 1000 / options.rate;
  const latencies = new Float64Array(total);
  let errors = 0;
  const started = performance.now();
  // Half a spacing short of the end: exactly `total` sends, whatever the rounding.
  await atFixedRate(options.rate, (total - 0.5) * spacingMs, (index, due) => {
    return pool
      .request({ path: pathname, method: 'POST', headers: options.headers, body: options.body })
      .then(async (response) => {
        await response.body.text();
        if (response.statusCode >= 300) errors++;
      })
      .catch(() => void errors++)
      .finally(() => (latencies[index] = performance.now() - due));
  });
  const elapsedS = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort();
  const at = (q: number) => latencies[Math.min(total - 1, Math.floor(q * total))]!;
  return { requests: total, errors, p50: at(0.5), p99: at(0.99), rps: total / elapsedS };
}
