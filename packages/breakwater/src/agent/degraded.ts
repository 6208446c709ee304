import type { Degradation } from '../policies/context.js';

/** Response header that says a fallback answered, and why (e.g. `cache`, `smaller_model`). */
export const DEGRADED_HEADER = 'x-breakwater-degraded';

/** Header and body field for a degraded result, so clients and dashboards can tell. */
export function degradationSignals(degraded: Degradation | undefined): {
  headers: Record<string, string>;
  field: { degraded: Degradation } | Record<string, never>;
} {
  if (!degraded) return { headers: {}, field: {} };
  return { headers: { [DEGRADED_HEADER]: degraded.reason }, field: { degraded } };
}
