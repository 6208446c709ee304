import { parseConfig } from './load.js';
import type { GatewayConfig } from './schema.js';

/**
 * What `npm start` runs with no config and no key: two "providers" on the built-in simulator, one
 * that fails in realistic ways and a healthy backup, so retries, breakers and fallbacks show at once.
 */
export function demoConfig(flakyUrl: string, backupUrl: string, port: number): GatewayConfig {
  return parseConfig({
    server: { host: '127.0.0.1', port },
    providers: {
      flaky: { baseUrl: flakyUrl, breaker: { failures: 5, breakMs: 5_000 } },
      backup: { baseUrl: backupUrl },
    },
    routes: {
      'demo-model': {
        targets: [
          { provider: 'flaky', model: 'sim-small', contextWindow: 8_192 },
          { provider: 'backup', model: 'sim-large', contextWindow: 128_000 },
        ],
        retry: { maxAttempts: 3 },
        attemptTimeoutMs: 2_000,
        totalTimeoutMs: 10_000,
        stream: { idleTimeoutMs: 5_000, totalTimeoutMs: 30_000 },
      },
    },
    journal: { sqlite: 'breakwater-demo.db' },
  });
}
