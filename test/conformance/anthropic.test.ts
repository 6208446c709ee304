import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { RULES } from 'breakwater/rules';
import { conformance, thrownBy } from '../support/conformance.js';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.js';

// The real @anthropic-ai/sdk (retries off) against a local server answering what Anthropic answers.
const proof = conformance([{ overloaded: RULES.llm.overloaded }]);
let server: ScriptedServer;
let client: Anthropic;

const message = () =>
  client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
const anthropicError = (type: string, text: string) => ({
  type: 'error',
  error: { type, message: text },
  request_id: 'req_1',
});

before(async () => {
  server = await startScriptedServer();
  client = new Anthropic({ apiKey: 'sk-ant-api03-secretsecret', baseURL: server.url, maxRetries: 0, timeout: 2000 });
});
after(() => server.close());

describe('@anthropic-ai/sdk errors', () => {
  test('529 overloaded_error is overloaded and retryable', async () => {
    server.script({ status: 529, body: anthropicError('overloaded_error', 'Overloaded') });
    proof.expect(await thrownBy(message), {
      rule: RULES.llm.overloaded,
      code: 'LLM_OVERLOADED',
      status: 503,
      dependency: 'anthropic',
    });
  });

  test('402 billing_error and 429 enforced_spend_limit_reached are quota errors', async () => {
    server.script({ status: 402, body: anthropicError('billing_error', 'Your credit balance is too low') });
    proof.expect(await thrownBy(message), { rule: RULES.llm.quota, code: 'LLM_QUOTA_EXCEEDED' });
    server.script({
      status: 429,
      headers: { 'retry-after': '3' },
      body: anthropicError('enforced_spend_limit_reached', 'Spend limit reached'),
    });
    proof.expect(await thrownBy(message), { rule: RULES.llm.quota, retryable: false });
  });

  test('"prompt is too long" is context_length (Anthropic has no structured code for it)', async () => {
    server.script({
      status: 400,
      body: anthropicError('invalid_request_error', 'prompt is too long: 210000 tokens > 200000 maximum'),
    });
    proof.expect(await thrownBy(message), {
      rule: RULES.llm.context_length,
      code: 'LLM_CONTEXT_LENGTH_EXCEEDED',
      status: 400,
    });
  });

  test('429 rate_limit_error without retry-after uses anthropic-ratelimit-*-reset', async () => {
    const reset = new Date(Date.now() + 20_000).toISOString();
    server.script({
      status: 429,
      headers: { 'anthropic-ratelimit-requests-reset': reset },
      body: anthropicError('rate_limit_error', 'Rate limited'),
    });
    proof.expect(await thrownBy(message), { rule: RULES.http.too_many_requests, retryAfterMs: [18_000, 20_000] });
  });

  test('401 authentication_error on our key is a 502 for our client', async () => {
    server.script({ status: 401, body: anthropicError('authentication_error', 'invalid x-api-key') });
    const error = proof.expect(await thrownBy(message), {
      rule: RULES.http.unauthorized,
      code: 'LLM_AUTH_FAILED',
      status: 502,
    });
    assert.equal(error.origin, 'dependency');
  });

  test('an error event in the stream after 200 is classified by its type', async () => {
    server.script({
      sse: [
        {
          event: 'message_start',
          data: {
            type: 'message_start',
            message: {
              id: 'm',
              type: 'message',
              role: 'assistant',
              content: [],
              model: 'c',
              stop_reason: null,
              stop_sequence: null,
              usage: { input_tokens: 1, output_tokens: 0 },
            },
          },
        },
        { event: 'error', data: anthropicError('overloaded_error', 'Overloaded') },
      ],
    });
    const error = await thrownBy(async () => {
      const stream = await client.messages.create({
        model: 'c',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      });
      for await (const _ of stream) void _;
    });
    proof.expect(error, { rule: RULES.llm.overloaded, code: 'LLM_OVERLOADED' });
  });

  test('every Anthropic-specific row is proven here', () => proof.assertCovered());
});
