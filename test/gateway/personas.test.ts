import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import pino from 'pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';
import type { Persona } from '../../packages/gateway/src/simulator/faults.js';

// The gateway driven against upstreams that word their failures like vLLM, OpenRouter, Groq and
// Azure (the simulator's personas), with the real openai SDK as the client.
const sims: Partial<Record<Persona | 'big' | 'medium', Simulator>> = {};
let gateway: Gateway;
let client: OpenAI;
const messages = [{ role: 'user' as const, content: 'hello' }];

before(async () => {
  for (const persona of ['vllm', 'openrouter', 'groq', 'azure'] as const)
    sims[persona] = await startSimulator({ persona });
  sims.medium = await startSimulator();
  sims.big = await startSimulator();
  const provider = (name: keyof typeof sims) => ({ baseUrl: sims[name]!.url });
  gateway = await createGateway(
    parseConfig({
      providers: {
        vllm: provider('vllm'),
        openrouter: provider('openrouter'),
        groq: provider('groq'),
        azure: provider('azure'),
        medium: provider('medium'),
        big: provider('big'),
      },
      routes: {
        // vLLM says 5000 tokens were requested: a 4,500-token window cannot fit them.
        long: {
          targets: [
            { provider: 'vllm', model: 'small', contextWindow: 4096 },
            { provider: 'medium', model: 'm', contextWindow: 4500 },
            { provider: 'big', model: 'l', contextWindow: 128000 },
          ],
        },
        credits: {
          targets: [
            { provider: 'openrouter', model: 'x' },
            { provider: 'big', model: 'l' },
          ],
        },
        tpm: {
          targets: [
            { provider: 'groq', model: 'x' },
            { provider: 'big', model: 'l' },
          ],
        },
        filtered: {
          targets: [
            { provider: 'azure', model: 'x' },
            { provider: 'big', model: 'l' },
          ],
        },
      },
      journal: { memory: true },
    }),
    { env: {}, logger: pino({ level: 'silent' }) },
  );
  const base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused' });
});
after(async () => {
  await gateway.close();
  for (const sim of Object.values(sims)) await sim!.close();
});

const answeredBy = async (model: string) =>
  (await client.chat.completions.create({ model, messages }).withResponse()).response.headers.get(
    'x-breakwater-target',
  );

test('vLLM-worded context length: falls back to a target whose window fits the reported tokens', async () => {
  sims.vllm!.script('context_length');
  assert.equal(await answeredBy('long'), 'big:l');
  assert.equal(sims.medium!.stats().received, 0, 'the 4,500-token target cannot fit 5,000 tokens: skipped');
});

test('an OpenRouter 402 "Insufficient credits" moves on and is never retried', async () => {
  sims.openrouter!.resetStats();
  sims.openrouter!.script('quota');
  assert.equal(await answeredBy('credits'), 'big:l');
  assert.equal(sims.openrouter!.stats().received, 1);
});

test('a Groq TPM 413 (larger than the whole allowance) moves on at once', async () => {
  sims.groq!.resetStats();
  sims.groq!.script('tpm_too_large');
  assert.equal(await answeredBy('tpm'), 'big:l');
  assert.equal(sims.groq!.stats().received, 1);
});

test("an Azure content-filter 400 reaches the caller as content_filtered, with the filter's reason", async () => {
  sims.azure!.script('content_filter');
  sims.big!.resetStats();
  const error = await client.chat.completions.create({ model: 'filtered', messages }).then(
    () => assert.fail('expected a 400'),
    (e: InstanceType<typeof OpenAI.APIError>) => e,
  );
  assert.equal(error.status, 422, "content_filtered's status: the caller must change the content");
  assert.equal((error.error as { category: string }).category, 'content_filtered');
  assert.match(error.message, /filtered: jailbreak, violence/);
  assert.equal(sims.big!.stats().received, 0, "the caller's own content is not sent to another provider");
});
