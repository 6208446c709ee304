import { after, before, describe, test } from 'node:test';
import { generateText } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { loadApiKey } from '@ai-sdk/provider-utils';
import { RULES } from 'breakwater/rules';
import { conformance, thrownBy } from '../support/conformance.js';
import { freePort } from '../support/free-port.js';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.js';

// The real Vercel AI SDK (generateText + an OpenAI-compatible provider) against a local server.
const proof = conformance([RULES.ai]);
let server: ScriptedServer;

const model = (baseURL: string) =>
  createOpenAICompatible({ name: 'local', baseURL, apiKey: 'sk-vercel-secret-key' })('m');
const generate = (baseURL: string, maxRetries = 0) => generateText({ model: model(baseURL), prompt: 'hi', maxRetries });

before(async () => {
  server = await startScriptedServer();
});
after(() => server.close());

describe('Vercel AI SDK errors', () => {
  test('APICallError 429 insufficient_quota is a quota error, whatever isRetryable says', async () => {
    server.script({
      status: 429,
      body: { error: { message: 'quota', type: 'insufficient_quota', code: 'insufficient_quota' } },
    });
    proof.expect(await thrownBy(() => generate(`${server.url}/v1`)), {
      rule: RULES.llm.quota,
      code: 'LLM_QUOTA_EXCEEDED',
    });
  });

  test('RetryError is unwrapped to its last error (Retry-After kept)', async () => {
    server.script({
      status: 503,
      headers: { 'retry-after': '0' },
      body: { error: { message: 'busy', type: 'server_error' } },
    });
    proof.expect(await thrownBy(() => generate(`${server.url}/v1`, 1)), {
      rule: RULES.http.unavailable,
      code: 'LLM_OVERLOADED',
      retryAfterMs: 0,
    });
  });

  test('connection refused: the fetch cause decides, the SDK names the domain', async () => {
    const port = await freePort();
    proof.expect(await thrownBy(() => generate(`http://127.0.0.1:${port}/v1`)), {
      rule: RULES.net.connection_failed,
      code: 'LLM_CONNECTION_FAILED',
    });
  });

  test('fetch refusing the URL outright leaves only APICallError without a status', async () => {
    proof.expect(await thrownBy(() => generate('http://127.0.0.1:1/v1')), {
      rule: RULES.ai.call_failed_no_status,
      code: 'LLM_CONNECTION_FAILED',
    });
  });

  test('a 200 whose body is not the expected JSON is an invalid response', async () => {
    server.script({ status: 200, body: '{"choices": [ this is not json' });
    proof.expect(await thrownBy(() => generate(`${server.url}/v1`)), {
      rule: RULES.ai.invalid_response,
      code: 'LLM_INVALID_RESPONSE',
    });
  });

  test('a missing API key setting is our configuration failing', async () => {
    delete process.env.BREAKWATER_TEST_MISSING_KEY;
    const load = async () =>
      loadApiKey({ apiKey: undefined, environmentVariableName: 'BREAKWATER_TEST_MISSING_KEY', description: 'Local' });
    proof.expect(await thrownBy(load), { rule: RULES.ai.missing_api_key, code: 'LLM_AUTH_FAILED' });
  });

  test('every Vercel AI row is proven here', () => proof.assertCovered());
});
