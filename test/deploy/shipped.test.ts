import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { parser } from '@prometheus-io/lezer-promql';
import pino from 'pino';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';
import { needService, REDIS_URL } from '../support/services.js';

// The files under deploy/ cannot rot: every expression is valid PromQL (Prometheus' own grammar),
// the rule file has the shape Prometheus loads, and every metric they name exists — with samples —
// in a real gateway's /metrics after a run with faults.
const DEPLOY = resolve(import.meta.dirname, '../../deploy');
const rules = parseYaml(readFileSync(resolve(DEPLOY, 'prometheus/alerts.yml'), 'utf8')) as {
  groups: Array<{ name: string; rules: Array<Record<string, unknown>> }>;
};
const dashboard = JSON.parse(readFileSync(resolve(DEPLOY, 'grafana/breakwater-dashboard.json'), 'utf8')) as {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
};
const alertExprs = rules.groups.flatMap((group) => group.rules.map((rule) => String(rule['expr'])));
// Grafana's variables, as Grafana substitutes them before the query reaches Prometheus.
const panelExprs = dashboard.panels.flatMap((panel) =>
  panel.targets.map((target) => target.expr.replaceAll('$__rate_interval', '1m').replaceAll('$route', '.*')),
);

/** The metric names an expression selects, read from its syntax tree; throws on a syntax error. */
function metricNames(expr: string): string[] {
  const names: string[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) throw new Error(`not valid PromQL at ${node.from}: ${expr}`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector')
        names.push(expr.slice(node.from, node.to));
    },
  });
  return names;
}

test('the alert rules load as Prometheus rule groups: each alert has an expression, a duration, a severity and a summary', () => {
  assert.ok(rules.groups.length > 0);
  const alerts = rules.groups.flatMap((group) => group.rules);
  assert.ok(alerts.length >= 8);
  for (const rule of alerts) {
    assert.match(String(rule['alert']), /^Breakwater[A-Za-z]+$/);
    assert.equal(typeof rule['expr'], 'string');
    assert.match(String(rule['for']), /^\d+[smh]$/);
    assert.ok(
      ['page', 'warn'].includes((rule['labels'] as { severity?: string }).severity ?? ''),
      String(rule['alert']),
    );
    assert.equal(typeof (rule['annotations'] as { summary?: unknown }).summary, 'string');
  }
  // What the issue asks the rules to cover.
  const all = alertExprs.join('\n');
  for (const metric of [
    'breakwater_gateway_requests_total',
    'breakwater_breaker_state',
    'breakwater_retry_budget_exhausted_total',
    'breakwater_gateway_journal_up',
    'breakwater_gateway_journal_outbox',
    'breakwater_gateway_shared_state_up',
    'breakwater_fallbacks_total',
    'breakwater_gateway_time_to_first_token_seconds_bucket',
  ])
    assert.ok(all.includes(metric), metric);
});

test('every expression of the rules and the dashboard is valid PromQL', () => {
  for (const expr of [...alertExprs, ...panelExprs]) assert.ok(metricNames(expr).length > 0, expr);
  assert.throws(() => metricNames('sum by (x (rate(y[5m]))'), /not valid PromQL/);
});

const redisSkip = await needService('redis');
let simulator: Simulator;
let gateway: Gateway;
let base: string;
before(async () => {
  if (redisSkip) return;
  simulator = await startSimulator({ retryAfterMs: 5, tokenDelayMs: 1 });
  gateway = await createGateway(
    parseConfig({
      providers: {
        broken: { baseUrl: simulator.url, breaker: { failures: 2, breakMs: 60_000, probe: false } },
        good: { baseUrl: simulator.url },
      },
      routes: {
        chat: {
          targets: [
            { provider: 'broken', model: 'a' },
            { provider: 'good', model: 'b' },
          ],
          retry: { maxAttempts: 2 },
        },
        // Only the target that breaks: once its circuit is open, refused before any call.
        lonely: { targets: [{ provider: 'broken', model: 'a' }] },
      },
      // One retry in the budget: the faulty run spends it, then exhausts the budget.
      retryBudget: { ratio: 0, minPerSecond: 1 },
      journal: { memory: true },
      // Shared state as a fleet runs it (the shared-state series exist only with a store).
      // A generous bound: a slow answer under a loaded CI must not be decided locally (a second budget).
      state: { redis: { url: REDIS_URL, prefix: `bwdeploy-${process.pid}-${Date.now()}`, timeoutMs: 1_000 } },
    }),
    { env: {}, logger: pino({ level: 'silent' }) },
  );
  base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await gateway?.close();
  await simulator?.close();
});

test(
  'every metric the dashboard and the alerts name is in /metrics, with samples, after a faulty run',
  { skip: redisSkip },
  async () => {
    const chat = (stream: boolean, model = 'chat') =>
      fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }),
      }).then((response) => response.text());
    // The first target fails (retried once, then the budget refuses; the route falls back) until
    // its breaker opens; streams and plain calls both.
    simulator.script('unavailable', 'unavailable', 'ok', 'unavailable', 'ok');
    await chat(false);
    await chat(true);
    for (let i = 0; i < 3; i++) await chat(i % 2 === 0);
    simulator.script('quota');
    await chat(false);
    await chat(false, 'lonely');
    const text = await (await fetch(`${base}/metrics`)).text();
    const names = new Set([...alertExprs, ...panelExprs].flatMap(metricNames));
    const missing = [...names].filter((name) => !new RegExp(`^${name}(\\{[^}]*\\})? [0-9.e+-]+$`, 'm').test(text));
    assert.deepEqual(missing, [], `named by deploy/ but without samples in /metrics:\n${missing.join('\n')}`);
    assert.match(text, /breakwater_breaker_state\{key="good:b"\} 0/, 'closed breakers are exported as 0');
  },
);
