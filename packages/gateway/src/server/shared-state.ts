import cluster from 'node:cluster';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { StateStore } from 'breakwater';
import { clusterState } from 'breakwater/cluster';
import { redisState } from 'breakwater/redis';
import type { GatewayConfig } from '../config/schema.js';

/** Where this process shares breakers, rate limits and the retry budget; none: it keeps its own. */
export interface SharedState {
  store: StateStore | undefined;
  /** Settles once the store's first connection is up or has failed (bounded): the gateway serves after it. */
  ready: Promise<void>;
  health(): { status: 'pass' | 'warn'; fallbacks: number; lastError?: string } | undefined;
  close(): Promise<void>;
}

/**
 * `state.redis`: every replica (and every worker) through Redis. Else, a worker of
 * `server.workers` shares through its primary. Else nothing is shared: one process, its own state.
 */
export function openSharedState(
  config: GatewayConfig,
  env: Record<string, string | undefined>,
  logger: Logger,
): SharedState {
  const redisConfig = config.state.redis;
  if (redisConfig) {
    // Set: createGateway refuses to start with a urlEnv that is not (refuseMissingKeys).
    const redis = connectRedis(redisUrl(config, env)!, logger);
    const store = redisState({
      redis,
      prefix: redisConfig.prefix,
      timeoutMs: redisConfig.timeoutMs,
      onFallback: onceInAWhile(logger),
    });
    return {
      store,
      // Before it serves: see whenConnected (a refusing Redis does not hold the start).
      ready: store.whenConnected(2_000),
      health: () => store.health(),
      close: async () => {
        await store.close();
        redis.disconnect();
      },
    };
  }
  if (cluster.isWorker) {
    const store = clusterState({ onFallback: onceInAWhile(logger) });
    return { store, ready: Promise.resolve(), health: () => store.health(), close: async () => store.close() };
  }
  return { store: undefined, ready: Promise.resolve(), health: () => undefined, close: async () => {} };
}

/** `state.redis`'s URL, from the file or from the variable it names. */
export function redisUrl(config: GatewayConfig, env: Record<string, string | undefined>): string | undefined {
  const redis = config.state.redis;
  return redis?.url ?? (redis?.urlEnv ? env[redis.urlEnv] : undefined);
}

/**
 * Commands fail at once while Redis is unreachable (no offline queue, no retries per request): the
 * store then decides locally instead of queueing decisions behind a dead connection.
 */
function connectRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(100 * times, 1_000),
  });
  let up = false;
  redis.on('ready', () => {
    up = true;
    logger.info({ event: 'shared_state_connected' }, 'shared state: connected to Redis');
  });
  redis.on('error', (error: Error) => {
    if (!up) return;
    up = false;
    logger.warn(
      { event: 'shared_state_unreachable', err: { message: error.message } },
      'shared state: Redis is unreachable; breakers, limits and the retry budget are decided by this process alone until it returns',
    );
  });
  return redis;
}

/** A fallback is logged at most once per 10 s: an outage must not become a log flood. */
function onceInAWhile(logger: Logger): (operation: string, error: Error) => void {
  let lastAt = 0;
  let since = 0;
  return (operation, error) => {
    since++;
    const now = Date.now();
    if (now - lastAt < 10_000) return;
    logger.warn(
      { event: 'shared_state_fallback', operation, fallbacks: since, err: { message: error.message } },
      `shared state: decided locally (${since} decisions since the last report)`,
    );
    lastAt = now;
    since = 0;
  };
}
