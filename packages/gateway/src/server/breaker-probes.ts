import { request, type Dispatcher } from 'undici';
import { classify, classifyResponse, pipeline } from 'breakwater';
import { PROTOCOLS } from '../upstream/protocols.js';
import type { Upstreams, UpstreamEndpoint } from './upstreams.js';

/**
 * Background probes for open circuits: once an upstream's break has ended (its breaker is
 * half-open) the gateway sends it a cheap request — `GET {baseUrl}/models`, which all three APIs
 * serve — through the breaker
 * itself, at most once per `probe.intervalMs` per upstream. A success closes the circuit before any
 * client pays for the probe; a failure reopens it for a longer break. Returns a function that stops.
 */
export function startBreakerProbes(upstreams: Upstreams, dispatcher: Dispatcher, tickMs = 250): () => void {
  const lastProbe = new Map<string, number>();
  const inFlight = new Set<string>();
  const tick = (): void => {
    const now = Date.now();
    for (const endpoint of upstreams.endpoints()) {
      // A protocol without a cheap GET (Bedrock's runtime API) recovers through half-open client calls.
      if (endpoint.probe === false || !PROTOCOLS[endpoint.kind].probePath || inFlight.has(endpoint.key)) continue;
      if (now - (lastProbe.get(endpoint.key) ?? 0) < endpoint.probe.intervalMs) continue;
      const { breaker } = upstreams.get(endpoint.key);
      if (breaker.snapshot(endpoint.key).state !== 'half_open') continue;
      lastProbe.set(endpoint.key, now);
      inFlight.add(endpoint.key);
      void pipeline(breaker)
        .execute(() => probe(endpoint, dispatcher), { key: endpoint.key })
        .catch(() => undefined)
        .finally(() => inFlight.delete(endpoint.key));
    }
  };
  const timer = setInterval(tick, tickMs);
  timer.unref();
  return () => clearInterval(timer);
}

async function probe(endpoint: UpstreamEndpoint, dispatcher: Dispatcher): Promise<void> {
  const url = `${endpoint.baseUrl}${PROTOCOLS[endpoint.kind].probePath}`;
  let response;
  try {
    response = await request(url, {
      method: 'GET',
      headers: { ...PROTOCOLS[endpoint.kind].headers(endpoint.apiKey), ...endpoint.headers },
      signal: AbortSignal.timeout(5_000),
      dispatcher,
    });
  } catch (error) {
    throw classify(error, { dependency: endpoint.key, domain: 'LLM' });
  }
  await response.body.dump();
  const failure = classifyResponse(
    { status: response.statusCode, headers: response.headers, url },
    { dependency: endpoint.key, defaultDomain: 'LLM' },
  );
  if (failure) throw failure;
}
