/** Decides when failures are enough to open a circuit. One instance per key. */
export interface FailureCounter {
  /** False when the counter ignores time, so a closed circuit's happy path reads no clock. */
  readonly usesTime: boolean;
  success(now: number): void;
  /** Records a failure; true when the circuit should open. */
  failure(now: number): boolean;
  reset(): void;
  /** Numbers for health checks. */
  snapshot(now: number): { failures: number; calls: number };
}

/**
 * Makes a fresh counter for each key. `fleetThreshold`: with a shared store, the circuit also
 * opens when this many faults were reported by all replicas together (see CircuitBreakerOptions.store).
 */
export type BreakerStrategy = (() => FailureCounter) & { readonly fleetThreshold?: number };
