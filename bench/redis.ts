// npm run bench:redis — a real Redis GET on loopback, bare vs wrapped in retry+breaker+timeout.
// Rounds alternate bare and wrapped so drift on a shared machine hits both. Last line: JSON.
import { Redis } from 'ioredis';
import { circuitBreaker, pipeline, retry, timeout } from 'breakwater';
import { round, table } from './harness.js';

const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const redis = new Redis({ host: url.hostname, port: Number(url.port), lazyConnect: true, maxRetriesPerRequest: 1 });
await redis.connect();
await redis.set('bw:bench:key', 'value');

const wrapped = pipeline(retry({ maxAttempts: 3 }), circuitBreaker(), timeout(1_000));
const ROUNDS = 10;
const PER_ROUND = 5_000;

async function time(run: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < PER_ROUND; i++) await run();
  return Number(process.hrtime.bigint() - started) / PER_ROUND;
}

const bareGet = () => redis.get('bw:bench:key');
const wrappedGet = () => wrapped.execute(() => redis.get('bw:bench:key'), { key: 'redis' });
await time(bareGet);
await time(wrappedGet);
const bare: number[] = [];
const withPolicies: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  bare.push(await time(bareGet));
  withPolicies.push(await time(wrappedGet));
}
await redis.quit();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const bareNs = median(bare);
const wrappedNs = median(withPolicies);
const addedPercent = ((wrappedNs - bareNs) / bareNs) * 100;
table([
  { what: 'ioredis GET (bare)', us_per_call: round(bareNs / 1000, 2) },
  { what: 'ioredis GET in retry+breaker+timeout', us_per_call: round(wrappedNs / 1000, 2) },
  { what: 'added', us_per_call: round((wrappedNs - bareNs) / 1000, 2), percent: round(addedPercent, 2) },
]);
console.log(
  JSON.stringify({
    bare_get_ns: round(bareNs),
    wrapped_get_ns: round(wrappedNs),
    added_percent: round(addedPercent, 2),
    calls: ROUNDS * PER_ROUND * 2,
  }),
);
