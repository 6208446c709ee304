import {
  bulkhead,
  circuitBreaker,
  consecutiveFailures,
  failureRate,
  type BulkheadPolicy,
  type CircuitBreakerPolicy,
  type CircuitSnapshot,
  type StateStore,
} from 'breakwater';
import type { GatewayConfig, ProviderConfig } from '../config/schema.js';

/** What belongs to one upstream (`provider:model`), whichever routes use it. */
export interface UpstreamPolicies {
  breaker: CircuitBreakerPolicy;
  bulkhead: BulkheadPolicy;
}

/** An operator's action on something that stays in place until undone: who, and when (ms). */
export interface OperatorMark {
  by: string;
  at: number;
}

/** Where an upstream is and how to probe it (from its provider's settings). */
export interface UpstreamEndpoint {
  key: string;
  /** Bedrock: SigV4 credentials and region. */
  aws?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  region?: string;
  kind: ProviderConfig['kind'];
  defaultMaxTokens: number;
  baseUrl: string;
  apiKey: string | undefined;
  headers: Record<string, string>;
  /** The provider names a key variable that is not set (allowed only with `apiKeyOptional`). */
  keyMissing: boolean;
  probe: ProviderConfig['breaker']['probe'];
}

interface Entry {
  settings: string;
  policies: UpstreamPolicies;
  endpoint: UpstreamEndpoint;
}

/**
 * The breakers and concurrency limits of the upstreams. Breakers belong to the dependency: a
 * second route using an upstream the first found dead fails fast too, and `/admin/breakers` lists
 * each upstream once. A config reload adds and drops upstreams but keeps every live one whose
 * settings did not change — an open breaker stays open.
 */
export class Upstreams {
  private entries = new Map<string, Entry>();
  /** Upstreams an operator drained: who and when. Kept across reloads, like the breakers. */
  private readonly drainedBy = new Map<string, OperatorMark>();

  /** With a store, every replica's breaker for an upstream follows the others. */
  constructor(private readonly store?: StateStore) {}

  /** Resolves every upstream the config names; those it no longer names are dropped. */
  update(config: GatewayConfig, env: Record<string, string | undefined>): void {
    const next = new Map<string, Entry>();
    for (const route of Object.values(config.routes)) {
      for (const target of route.targets) {
        const key = upstreamKey(target.provider, target.model);
        if (next.has(key)) continue;
        const provider = config.providers[target.provider]!;
        const aws = provider.kind === 'bedrock' && !provider.apiKeyEnv ? awsCredentials(env) : undefined;
        const endpoint = {
          key,
          kind: provider.kind,
          defaultMaxTokens: provider.defaultMaxTokens,
          baseUrl: provider.baseUrl,
          apiKey: provider.apiKeyEnv ? env[provider.apiKeyEnv] : undefined,
          headers: provider.headers,
          ...(aws ? { aws } : {}),
          ...(provider.region ? { region: provider.region } : {}),
          keyMissing:
            provider.apiKeyEnv !== undefined
              ? !env[provider.apiKeyEnv]
              : provider.kind === 'bedrock' && aws === undefined,
          probe: provider.breaker.probe,
        };
        next.set(key, { ...this.entryFor(key, provider), endpoint });
      }
    }
    for (const [key, entry] of this.entries)
      if (next.get(key)?.policies !== entry.policies) entry.policies.breaker.close();
    this.entries = next;
  }

  /** Stops following other replicas' breakers. */
  close(): void {
    for (const entry of this.entries.values()) entry.policies.breaker.close();
  }

  endpoints(): UpstreamEndpoint[] {
    return [...this.entries.values()].map((entry) => entry.endpoint);
  }

  get(key: string): UpstreamPolicies {
    return this.entry(key).policies;
  }

  /** Where upstream `key` is and the credentials it takes, as resolved by the last update(). */
  endpoint(key: string): UpstreamEndpoint {
    return this.entry(key).endpoint;
  }

  private entry(key: string): Entry {
    const entry = this.entries.get(key);
    if (!entry) throw new Error(`No upstream ${key}: update() with a config that names it first.`);
    return entry;
  }

  /** Takes an upstream out of new requests (every route moves past it); calls in flight finish. */
  drain(key: string, by: string): void {
    this.entry(key);
    this.drainedBy.set(key, { by, at: Date.now() });
  }

  undrain(key: string): void {
    this.drainedBy.delete(key);
  }

  /** Who drained the upstream and when; undefined while it serves. */
  drained(key: string): OperatorMark | undefined {
    return this.drainedBy.get(key);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  snapshots(): CircuitSnapshot[] {
    return [...this.entries].map(([key, entry]) => entry.policies.breaker.snapshot(key));
  }

  private entryFor(key: string, provider: ProviderConfig): Omit<Entry, 'endpoint'> {
    const { probe: _probe, ...breakerSettings } = provider.breaker;
    const settings = JSON.stringify([breakerSettings, provider.concurrency]);
    const existing = this.entries.get(key);
    if (existing?.settings === settings) return existing;
    const rate = provider.breaker.failureRate;
    return {
      settings,
      policies: {
        breaker: circuitBreaker({
          strategy: rate ? failureRate(rate) : consecutiveFailures(provider.breaker.failures),
          breakMs: provider.breaker.breakMs,
          maxBreakMs: provider.breaker.maxBreakMs,
          maxProbes: provider.breaker.halfOpenProbes,
          ...(this.store ? { store: this.store, name: 'upstreams' } : {}),
        }),
        bulkhead: bulkhead({
          maxConcurrent: provider.concurrency.max,
          maxQueue: provider.concurrency.queue,
          queueTimeoutMs: provider.concurrency.queueTimeoutMs,
        }),
      },
    };
  }
}

/** The standard AWS credential variables; undefined unless both the key id and the secret are set. */
export function awsCredentials(env: Record<string, string | undefined>): UpstreamEndpoint['aws'] {
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = env['AWS_SESSION_TOKEN'];
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

export function upstreamKey(provider: string, model: string): string {
  return `${provider}:${model}`;
}
