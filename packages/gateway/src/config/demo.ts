import { parseConfig } from './load.js';
import type { GatewayConfig } from './schema.js';

/**
 * What `npm start` runs with no config and no key: two "providers" on the built-in simulator, one
 * that fails in realistic ways and a healthy backup, so retries, breakers and fallbacks show at once.
 * `demo-cross` falls back across protocols: the backup simulator also answers as Anthropic's
 * Messages API and as Gemini's generateContent, which the gateway speaks natively.
 */
export function demoConfig(flakyUrl: string, backupUrl: string, port: number): GatewayConfig {
  return parseConfig({
    server: { host: '127.0.0.1', port },
    providers: {
      flaky: { baseUrl: flakyUrl, breaker: { failures: 5, breakMs: 5_000 } },
      backup: { baseUrl: backupUrl },
      'claude-sim': { kind: 'anthropic', baseUrl: backupUrl },
      'gemini-sim': { kind: 'gemini', baseUrl: backupUrl.replace(/\/v1$/, '/v1beta') },
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
      'demo-cross': {
        targets: [
          { provider: 'flaky', model: 'sim-small' },
          { provider: 'claude-sim', model: 'claude-sim' },
          { provider: 'gemini-sim', model: 'gemini-sim' },
        ],
        retry: { maxAttempts: 2 },
        attemptTimeoutMs: 2_000,
        totalTimeoutMs: 10_000,
      },
    },
    journal: { sqlite: 'breakwater-demo.db' },
  });
}
