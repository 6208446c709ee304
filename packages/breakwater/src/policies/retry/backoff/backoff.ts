/**
 * A backoff says how long to wait before retry number `retry` (1 for the first retry), given the
 * previous delay. Implementations are pure apart from the injected random source.
 */
export interface Backoff {
  delay(retry: number, previousDelay: number): number;
}

/** A source of uniform numbers in [0, 1); injectable so tests and chaos runs are reproducible. */
export type Random = () => number;

export interface ExponentialOptions {
  /** Delay before the first retry, before jitter (ms). Default 200. */
  initialMs?: number;
  /** Cap on any single delay (ms). Default 20,000. */
  maxMs?: number;
  /** Growth per retry. Default 2. */
  factor?: number;
  random?: Random;
}

export function exponentialCeiling(retry: number, initialMs: number, factor: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * factor ** Math.max(0, retry - 1));
}

export function checkBackoffOptions(options: ExponentialOptions): Required<ExponentialOptions> {
  const initialMs = options.initialMs ?? 200;
  const maxMs = options.maxMs ?? 20_000;
  const factor = options.factor ?? 2;
  if (!(initialMs >= 0)) throw new TypeError(`Expected \`initialMs\` to be a non-negative number, got ${initialMs}.`);
  if (!(maxMs >= initialMs))
    throw new TypeError(`Expected \`maxMs\` (${maxMs}) to be at least \`initialMs\` (${initialMs}).`);
  if (!(factor >= 1)) throw new TypeError(`Expected \`factor\` to be at least 1, got ${factor}.`);
  return { initialMs, maxMs, factor, random: options.random ?? Math.random };
}
