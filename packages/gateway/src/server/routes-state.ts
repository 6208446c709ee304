import { instrument, rateLimiter, retryBudget, type StateStore, type TelemetrySink } from 'breakwater';
import type { Agent } from 'undici';
import type { GatewayConfig } from '../config/schema.js';
import type { ResolvedTarget } from '../upstream/call-target.js';
import { PROTOCOLS } from '../upstream/protocols.js';
import { capabilityVariants } from './capabilities.js';
import { buildRoute, type Route } from './route.js';
import { upstreamKey, type Upstreams } from './upstreams.js';

export type RoutesState = ReturnType<typeof buildState>;

/** Routes built from the config, client keys: what a reload rebuilds (upstream breakers stay). */
export function buildState(
  config: GatewayConfig,
  env: Record<string, string | undefined>,
  telemetry: TelemetrySink[],
  dispatcher: Agent,
  upstreams: Upstreams,
  store?: StateStore,
) {
  upstreams.update(config, env);
  const budget = retryBudget({
    ratio: config.retryBudget.ratio,
    minPerSecond: config.retryBudget.minPerSecond,
    ...(store ? { store, name: 'retry' } : {}),
  });
  const routes = new Map<string, Route>();
  for (const [alias, route] of Object.entries(config.routes)) {
    const targets: ResolvedTarget[] = route.targets.map((t) => {
      // Resolved once per upstream by update() above: the same URL, key and headers as its probes.
      const key = upstreamKey(t.provider, t.model);
      const { kind, defaultMaxTokens, baseUrl, apiKey, headers, aws, region } = upstreams.endpoint(key);
      return {
        ...t,
        key,
        protocol: PROTOCOLS[kind],
        defaultMaxTokens,
        baseUrl,
        apiKey,
        headers,
        ...(aws ? { aws } : {}),
        ...(region ? { region } : {}),
        dispatcher,
      };
    });
    // One limit per alias, whichever variant (targets with tools, images) serves the request.
    const limiter = route.rateLimit
      ? rateLimiter({
          perSecond: route.rateLimit.perSecond,
          burst: route.rateLimit.burst ?? Math.max(1, Math.ceil(route.rateLimit.perSecond)),
          ...(store ? { store, name: 'route' } : {}),
        })
      : undefined;
    const build = (fit: ResolvedTarget[]): Route =>
      Object.assign(buildRoute(alias, route, fit, upstreams, budget), limiter ? { limiter } : {});
    const built = build(targets);
    built.variants = capabilityVariants(built, build);
    routes.set(alias, built);
  }
  // One wiring for every policy of every route: an upstream's breaker shared by three routes
  // reports each transition once.
  // Streams and resumes too: their retries, fallbacks and budget refusals count like any other.
  const pipelines = [...routes.values()]
    .flatMap((r) => [r, ...r.variants.values()])
    .flatMap((v) => (v ? [v.pipeline, v.streamPipeline, ...v.resumeAfter.values()] : []));
  const disconnectTelemetry = instrument({ policies: [...new Set(pipelines)] }, ...telemetry);
  return {
    routes,
    budget,
    clientKeys: config.clients.map((c) => Buffer.from(c.keySha256, 'hex')),
    disconnectTelemetry,
  };
}

/** Settings a reload cannot change in a running process. */
export function unreloadable(current: GatewayConfig, next: GatewayConfig): string[] {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  return [
    ...(same(current.server, next.server) ? [] : ['server: listener, limits and timeouts change only on restart']),
    ...(same(current.journal, next.journal) ? [] : ['journal: the store changes only on restart']),
    ...(same(current.admin, next.admin) ? [] : ['admin: the admin key changes only on restart']),
    ...(same(current.authThrottle, next.authThrottle) ? [] : ['authThrottle: changes only on restart']),
    ...(same(current.state, next.state) ? [] : ['state: the shared state store changes only on restart']),
  ];
}
