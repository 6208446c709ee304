import type { Journal, RetryBudget } from 'breakwater';
import type { Maintenance } from '../server/request-gate.js';
import type { Route } from '../server/route.js';
import type { Upstreams } from '../server/upstreams.js';
import type { RecentStats } from './recent-stats.js';

export interface SnapshotSources {
  upstreams: Upstreams;
  routes: () => Iterable<Route>;
  maintenance: Maintenance;
  budget: () => RetryBudget;
  journal: Journal<unknown>;
  stats: RecentStats;
}

const FAILED_SHOWN = 20;

/**
 * Everything the console shows, as one JSON document: upstreams with their breakers and recent
 * numbers, routes and their targets, the retry budget, errors over time and the latest failed
 * operations with their attempt trails. No URLs or keys are part of it.
 */
export async function consoleSnapshot(sources: SnapshotSources, correlationId?: string) {
  const { upstreams, maintenance, stats } = sources;
  const now = Date.now();
  const budget = sources.budget();
  const failed = await sources.journal
    .query(correlationId ? { correlationId, limit: FAILED_SHOWN } : { status: 'failed', limit: FAILED_SHOWN })
    .catch(() => []);
  return {
    at: now,
    upstreams: upstreams.endpoints().map((endpoint) => {
      const snapshot = upstreams.get(endpoint.key).breaker.snapshot(endpoint.key);
      const drained = upstreams.drained(endpoint.key);
      return {
        key: endpoint.key,
        kind: endpoint.kind,
        state: snapshot.state,
        // While open: when the break ends and the next probe may go.
        nextProbeInMs: snapshot.state === 'open' ? (snapshot.retryAfterMs ?? 0) : null,
        lastFault: snapshot.lastFaultCategory ?? null,
        drained: drained ?? null,
        ...stats.upstream(endpoint.key),
      };
    }),
    routes: [...sources.routes()].map((route) => ({
      alias: route.alias,
      targets: route.targets.map((target) => target.key),
      maintenance: maintenance.of(route.alias) ?? null,
    })),
    retryBudget: { available: budget.available, exhausted: budget.exhaustedCount },
    errors: stats.errors(),
    failed: failed.map((operation) => ({
      id: operation.id,
      kind: operation.kind,
      status: operation.status,
      correlationId: operation.correlationId ?? null,
      createdAt: operation.createdAt,
      errorCode: operation.errorCode ?? null,
      errorCategory: operation.errorCategory ?? null,
      attempts: operation.attempts,
      model: (operation.metadata as { model?: unknown } | null)?.model ?? null,
      timeline: (operation.result as { timeline?: unknown } | null)?.timeline ?? [],
    })),
  };
}
