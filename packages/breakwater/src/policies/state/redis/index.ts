// breakwater/redis: breaker, rate-limit and retry-budget state shared by replicas (peer: ioredis).
export { RedisStateStore, redisState, type RedisStateOptions } from './redis-state-store.js';
export type { StateStoreHealth } from '../store-health.js';
