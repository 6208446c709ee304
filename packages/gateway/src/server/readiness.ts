import { createHealth, Errors, type DependencyCheck, type Health, type Journal } from 'breakwater';
import type { Admission } from './admission.js';
import type { Route } from './route.js';
import type { Upstreams } from './upstreams.js';

export interface ReadinessSources {
  routes: () => Iterable<Route>;
  upstreams: Upstreams;
  journal: Journal<unknown>;
  /** fail-closed: a failing journal makes the gateway unready (503); degrade: only `warn`. */
  journalCritical: boolean;
  admission: Admission;
  /** The shared state store's health; undefined when nothing is shared. */
  sharedState: () => { status: 'pass' | 'warn'; fallbacks: number; lastError?: string } | undefined;
}

const isOpen = (state: string): boolean => state === 'open' || state === 'isolated';

/**
 * `/health/ready`: each upstream's breaker (once, however many routes use it), the journal asked
 * afresh on every probe (so its recovery shows at once), the outbox, admission saturation, and
 * each route whose every target is open (`warn`, naming the route: it can only fail fast).
 */
export function gatewayHealth(sources: ReadinessSources): Health {
  const { journal, admission } = sources;
  const upstreams = (): DependencyCheck[] =>
    sources.upstreams.endpoints().map((endpoint) => ({
      name: `upstream:${endpoint.key}`,
      critical: false,
      // A provider whose key variable is unset (allowed by apiKeyOptional) is not ready to serve.
      check: async () => {
        if (endpoint.keyMissing) throw Errors.unauthenticated({ message: `No API key for ${endpoint.key}.` });
      },
      breaker: { policy: sources.upstreams.get(endpoint.key).breaker, key: endpoint.key },
    }));
  return createHealth({
    serviceId: 'breakwater-gateway',
    timeoutMs: 1_000,
    dependencies: () => [
      ...upstreams(),
      { name: `journal:${journal.store.name}`, critical: sources.journalCritical, check: () => journal.ping() },
    ],
    extra: [
      () => {
        // Never `fail`: without the shared store each replica decides alone and keeps serving.
        const state = sources.sharedState();
        if (!state) return { name: 'shared-state', status: 'pass', output: 'per process (nothing shared)' };
        return {
          name: 'shared-state',
          status: state.status,
          output:
            state.status === 'pass'
              ? `shared; ${state.fallbacks} local decisions so far`
              : `deciding locally (${state.fallbacks} local decisions)${state.lastError ? `; last error: ${state.lastError}` : ''}`,
        };
      },
      () => {
        const { deferred, dropped, lastError } = journal.health();
        const waiting = deferred > 0 || dropped > 0;
        const cause = lastError ? `; last store error ${lastError.code}` : '';
        return {
          name: 'journal:outbox',
          status: waiting ? 'warn' : 'pass',
          ...(waiting ? { output: `${deferred} outcomes waiting, ${dropped} dropped${cause}` } : {}),
        };
      },
      () => {
        const { running, queued, maxInFlight } = admission.stats();
        const saturated = queued > 0 || running >= maxInFlight;
        return {
          name: 'admission',
          status: saturated ? 'warn' : 'pass',
          output: `${running}/${maxInFlight} in flight, ${queued} queued`,
        };
      },
      ...routeChecks(sources),
    ],
  });
}

/** One extra check per route that is down: all of its targets' breakers are open. */
function routeChecks(sources: ReadinessSources) {
  return [
    () => {
      const down = [...sources.routes()].filter((route) =>
        route.targets.every((target) => isOpen(sources.upstreams.get(target.key).breaker.snapshot(target.key).state)),
      );
      return {
        name: 'routes',
        status: down.length > 0 ? ('warn' as const) : ('pass' as const),
        ...(down.length > 0
          ? { output: `every target is open for route(s): ${down.map((r) => r.alias).join(', ')}` }
          : {}),
      };
    },
  ];
}
