import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';
import { CHROMIUM_PATH, needChromium } from '../support/services.js';
import { waitFor } from '../support/wait-for.js';

// The operator console in a real headless Chromium: log in, watch an outage happen live, act on
// it, and the attacks a console must withstand. Screenshots land in test-artifacts/.
const skip = needChromium();
const ADMIN_KEY = 'console-admin-key-0123456789';
const PROVIDER_KEY = 'sk-proj-consoleSECRETkey0123456789';
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');
let flaky: Simulator;
let steady: Simulator;
let gateway: Gateway;
let base: string;
let browser: Browser;

before(async () => {
  if (skip) return;
  flaky = await startSimulator({ retryAfterMs: 5, tokenDelayMs: 1 });
  steady = await startSimulator({ tokenDelayMs: 40 });
  const config = parseConfig({
    providers: {
      // Stays open once opened (no probe, a long break): the page must show it until reset.
      flaky: {
        baseUrl: flaky.url,
        apiKeyEnv: 'CONSOLE_PROVIDER_KEY',
        breaker: { failures: 2, breakMs: 600_000, maxBreakMs: 600_000, probe: false },
      },
      steady: { baseUrl: steady.url },
    },
    routes: {
      'flaky-route': { targets: [{ provider: 'flaky', model: 'm' }], retry: { maxAttempts: 1 } },
      'steady-route': { targets: [{ provider: 'steady', model: 'm' }] },
    },
    admin: { keySha256: createHash('sha256').update(ADMIN_KEY).digest('hex') },
    authThrottle: { burst: 50, perMinute: 60 },
    journal: { memory: true },
  });
  gateway = await createGateway(config, {
    env: { CONSOLE_PROVIDER_KEY: PROVIDER_KEY },
    logger: pino({ level: 'silent' }),
  });
  base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
});
after(async () => {
  if (skip) return;
  await browser?.close();
  await gateway.close();
  await Promise.all([flaky.close(), steady.close()]);
});

async function loggedIn(name = 'Ada'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/console`);
  await page.fill('input[name=name]', name);
  await page.fill('input[name=key]', ADMIN_KEY);
  await page.click('button[type=submit]');
  await page.waitForSelector('#upstreams tbody tr');
  return page;
}

const chat = (model: string, stream = false) =>
  fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }),
  });
const row = (page: Page, key: string) => page.locator(`#upstreams tr[data-upstream="${key}"]`);

describe('the operator console in Chromium', { skip }, () => {
  test('a wrong key gets no session, and nothing behind the login answers without one', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/console`);
    await page.fill('input[name=name]', 'Mallory');
    await page.fill('input[name=key]', 'not-the-admin-key');
    await page.click('button[type=submit]');
    await page.waitForSelector('.error');
    assert.match((await page.textContent('.error')) ?? '', /Wrong admin key/);
    assert.deepEqual(await context.cookies(), []);
    for (const path of ['/console/events', '/console/api/snapshot'])
      assert.equal(await page.evaluate(async (url) => (await fetch(url)).status, `${base}${path}`), 401, path);
    await context.close();
  });

  test('an upstream turns open on the page while its provider fails, without a reload; reset closes it', async () => {
    const page = await loggedIn();
    await page.evaluate(() => ((globalThis as unknown as { sameDocument: boolean }).sameDocument = true));
    await page.screenshot({ path: join(ARTIFACTS, 'console-healthy.png'), fullPage: true });
    flaky.setDown(true);
    for (let i = 0; i < 3; i++) await (await chat('flaky-route')).text();
    await row(page, 'flaky:m').and(page.locator('[data-state="open"]')).waitFor({ timeout: 5_000 });
    assert.equal(await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument), true);
    await page.locator('#legend [data-code^="overloaded/"]').first().waitFor({ timeout: 5_000 });
    await page.locator('#failed tbody tr').first().waitFor();
    assert.match((await page.textContent('#failed tbody')) ?? '', /flaky:m #1: failed/);
    await page.screenshot({ path: join(ARTIFACTS, 'console-outage.png'), fullPage: true });
    flaky.setDown(false);
    await row(page, 'flaky:m').locator('button[data-action=reset]').click();
    await row(page, 'flaky:m').and(page.locator('[data-state="closed"]')).waitFor({ timeout: 5_000 });
    assert.equal((await chat('flaky-route')).status, 200);
    const [action] = await gateway.journal.query({ kind: 'operator.action', limit: 1 });
    assert.deepEqual(action?.metadata, {
      actor: 'Ada (127.0.0.1)',
      subject: 'breaker',
      key: 'flaky:m',
      action: 'reset',
    });
    await page.context().close();
  });

  test('draining a target: new requests get 503 + Retry-After while a stream in flight completes', async () => {
    const page = await loggedIn('Grace');
    const inFlight = await chat('steady-route', true);
    const reader = inFlight.body!.getReader();
    await reader.read(); // the stream has started
    await row(page, 'steady:m').locator('button[data-action=drain]').click();
    await row(page, 'steady:m').locator('.badge.drained').waitFor({ timeout: 5_000 });
    const refused = await chat('steady-route');
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '30');
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'ALTERNATIVES_ALL_DISABLED');
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    assert.match(rest, /data: \[DONE\]\n\n$/, 'the stream in flight finished');
    await row(page, 'steady:m').locator('button[data-action=undrain]').click();
    await row(page, 'steady:m').locator('button[data-action=drain]').waitFor({ timeout: 5_000 });
    assert.equal((await chat('steady-route')).status, 200);
    await page.context().close();
  });

  test('a forged cross-site POST is refused: the breaker stays as it was', async () => {
    const page = await loggedIn('Linus');
    // A page on another origin (same site: another port of 127.0.0.1, so the cookie goes along).
    const attacker: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><body>
        <form id="f" method="POST" action="${base}/console/api/actions" enctype="text/plain">
        <input name='{"subject":"breaker","key":"steady:m","action":"isolate","x":"' value='"}'></form>
        <script>fetch('${base}/console/api/actions', { method: 'POST', mode: 'no-cors', credentials: 'include',
          headers: { 'content-type': 'text/plain' }, body: '{"subject":"breaker","key":"steady:m","action":"isolate"}' })
          .finally(() => document.getElementById('f').submit());</script></body>`);
    });
    await new Promise<void>((done) => attacker.listen(0, '127.0.0.1', done));
    const forged = await page.context().newPage();
    const answers: number[] = [];
    forged.on('response', (response) => {
      if (response.url().includes('/console/api/actions')) answers.push(response.status());
    });
    await forged.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
    await forged.waitForURL(/console\/api\/actions/, { timeout: 5_000 }).catch(() => undefined);
    await waitFor(() => answers.length >= 2, 'the forged fetch and form to be answered');
    assert.ok(answers.length >= 1 && answers.every((status) => status === 403 || status === 415), String(answers));
    const snapshot = await page.evaluate(async () => (await fetch('/console/api/snapshot')).json());
    const steadyState = (snapshot as { upstreams: Array<{ key: string; state: string }> }).upstreams.find(
      (u) => u.key === 'steady:m',
    );
    assert.equal(steadyState?.state, 'closed');
    assert.equal(
      (await gateway.journal.query({ kind: 'operator.action', limit: 100 })).filter(
        (a) => a.metadata?.['actor'] === 'Linus (127.0.0.1)',
      ).length,
      0,
    );
    attacker.close();
    await page.context().close();
  });

  test("the console's pages, API and live stream never carry a provider key", async () => {
    const page = await loggedIn();
    const seen: string[] = [await page.content()];
    seen.push(await page.evaluate(async () => JSON.stringify(await (await fetch('/console/api/snapshot')).json())));
    seen.push(
      await page.evaluate(
        () =>
          new Promise<string>((done) => {
            const events = new EventSource('/console/events');
            events.addEventListener('state', (e) => {
              events.close();
              done((e as MessageEvent).data as string);
            });
          }),
      ),
    );
    assert.ok(seen[2]!.includes('flaky:m'), 'the stream was read');
    for (const text of seen) assert.ok(!text.includes(PROVIDER_KEY) && !text.includes(ADMIN_KEY));
    await page.context().close();
  });
});
