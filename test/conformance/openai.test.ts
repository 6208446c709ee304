import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { RULES } from 'breakwater/rules';
import { conformance, thrownBy } from '../support/conformance.js';
import { freePort } from '../support/free-port.js';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.js';

// The real openai SDK (retries off) against a local server answering what OpenAI answers.
const proof = conformance([RULES.llm, RULES.http]);
let server: ScriptedServer;
let client: OpenAI;

const chat = () =>
  client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
const openaiError = (message: string, type: string, code: string | null = null) => ({
  error: { message, type, param: null, code },
});

/** One streamed chat completion chunk carrying `content`, as OpenAI sends it. */
const completionChunk = (content: string) => ({
  id: 'c1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, delta: { content }, finish_reason: null }],
});

before(async () => {
  server = await startScriptedServer();
  client = new OpenAI({
    apiKey: 'sk-test-0123456789abcdef',
    baseURL: `${server.url}/v1`,
    maxRetries: 0,
    timeout: 2000,
  });
});
after(() => server.close());

describe('openai SDK errors classify by their real status, headers and body', () => {
  test('429 rate limit honours retry-after-ms before retry-after', async () => {
    server.script({
      status: 429,
      headers: { 'retry-after-ms': '1500', 'retry-after': '9' },
      body: openaiError('Rate limit reached', 'requests', 'rate_limit_exceeded'),
    });
    proof.expect(await thrownBy(chat), {
      rule: RULES.http.too_many_requests,
      code: 'LLM_RATE_LIMITED',
      retryAfterMs: 1500,
      status: 429,
      dependency: 'openai',
    });
  });

  test('429 with retry-after in seconds and as an HTTP-date', async () => {
    server.script({ status: 429, headers: { 'retry-after': '7' }, body: openaiError('slow down', 'tokens') });
    proof.expect(await thrownBy(chat), { rule: RULES.http.too_many_requests, retryAfterMs: 7000 });
    const at = new Date(Date.now() + 30_000).toUTCString();
    server.script({ status: 429, headers: { 'retry-after': at }, body: openaiError('slow down', 'tokens') });
    proof.expect(await thrownBy(chat), { rule: RULES.http.too_many_requests, retryAfterMs: [28_000, 30_000] });
  });

  test('429 with no retry-after takes the x-ratelimit-reset headers', async () => {
    server.script({
      status: 429,
      headers: { 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-reset-tokens': '6m0s' },
      body: openaiError('slow', 'tokens'),
    });
    proof.expect(await thrownBy(chat), { rule: RULES.http.too_many_requests, retryAfterMs: 360_000 });
  });

  test('429 insufficient_quota is a quota error and never retryable, even if the server says x-should-retry', async () => {
    server.script({
      status: 429,
      headers: { 'x-should-retry': 'true', 'retry-after': '1' },
      body: openaiError('You exceeded your current quota', 'insufficient_quota', 'insufficient_quota'),
    });
    const error = proof.expect(await thrownBy(chat), {
      rule: RULES.llm.quota,
      code: 'LLM_QUOTA_EXCEEDED',
      retryable: false,
      status: 429,
    });
    assert.equal(error.category, 'quota_exceeded');
  });

  test('400 context_length_exceeded and content_filter', async () => {
    server.script({
      status: 400,
      body: openaiError(
        "This model's maximum context length is 128000 tokens",
        'invalid_request_error',
        'context_length_exceeded',
      ),
    });
    proof.expect(await thrownBy(chat), {
      rule: RULES.llm.context_length,
      code: 'LLM_CONTEXT_LENGTH_EXCEEDED',
      status: 400,
    });
    server.script({
      status: 400,
      body: openaiError('The response was filtered', 'invalid_request_error', 'content_filter'),
    });
    proof.expect(await thrownBy(chat), { rule: RULES.llm.content_filtered, code: 'LLM_CONTENT_FILTERED' });
  });

  test('a 401 for our own key is the dependency failing us: 502, not "log in again"', async () => {
    server.script({
      status: 401,
      body: openaiError(
        'Incorrect API key provided: sk-test-0123456789abcdef',
        'invalid_request_error',
        'invalid_api_key',
      ),
    });
    const error = proof.expect(await thrownBy(chat), {
      rule: RULES.http.unauthorized,
      code: 'LLM_AUTH_FAILED',
      status: 502,
    });
    assert.equal(error.origin, 'dependency');
    assert.equal(error.logLevel, 'error');
    assert.ok(!error.message.includes('sk-test-0123456789abcdef'), 'the key in the upstream message is redacted');
    assert.ok(!JSON.stringify(error).includes('sk-test-0123456789abcdef'));
  });

  test('other client statuses: 400, 402, 403, 404, 408, 409, 422', async () => {
    const cases = [
      [400, RULES.http.bad_request, 'LLM_BAD_REQUEST'],
      [402, RULES.http.payment_required, 'LLM_QUOTA_EXCEEDED'],
      [403, RULES.http.forbidden, 'LLM_PERMISSION_DENIED'],
      [404, RULES.http.not_found, 'LLM_NOT_FOUND'],
      [408, RULES.http.request_timeout, 'LLM_TIMEOUT'],
      [409, RULES.http.conflict, 'LLM_CONFLICT'],
      [422, RULES.http.bad_request, 'LLM_BAD_REQUEST'],
    ] as const;
    for (const [status, rule, code] of cases) {
      server.script({ status, body: openaiError(`status ${status}`, 'invalid_request_error') });
      proof.expect(await thrownBy(chat), { rule, code });
    }
  });

  test('server statuses: 500, 501, 502, 503 with Retry-After, 504', async () => {
    const cases = [
      [500, RULES.http.server_error],
      [501, RULES.http.not_implemented],
      [502, RULES.http.server_error],
      [504, RULES.http.gateway_timeout],
    ] as const;
    for (const [status, rule] of cases) {
      server.script({ status, body: openaiError('The server had an error', 'server_error') });
      proof.expect(await thrownBy(chat), { rule });
    }
    server.script({ status: 503, headers: { 'retry-after': '2' }, body: openaiError('overloaded', 'server_error') });
    proof.expect(await thrownBy(chat), { rule: RULES.http.unavailable, code: 'LLM_OVERLOADED', retryAfterMs: 2000 });
  });

  test('x-should-retry overrides the status rule both ways', async () => {
    server.script({ status: 500, headers: { 'x-should-retry': 'false' }, body: openaiError('no', 'server_error') });
    proof.expect(await thrownBy(chat), { rule: RULES.http.server_error, retryable: false });
    server.script({
      status: 409,
      headers: { 'x-should-retry': 'true' },
      body: openaiError('lock', 'invalid_request_error'),
    });
    proof.expect(await thrownBy(chat), { rule: RULES.http.conflict, retryable: true });
  });

  test('an error event inside an SSE stream after HTTP 200 is classified by its body', async () => {
    const chunk = completionChunk('Hel');
    const drain = async () => {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      });
      for await (const _ of stream) void _;
    };
    server.script({
      sse: [
        { data: chunk },
        {
          data: {
            error: {
              message: 'The server had an error while processing your request',
              type: 'server_error',
              code: null,
            },
          },
        },
      ],
    });
    const error = proof.expect(await thrownBy(drain), { rule: RULES.llm.stream_error, code: 'LLM_SERVER_ERROR' });
    assert.equal(error.upstreamStatus, undefined);
    server.script({
      sse: [
        { data: chunk },
        { data: { error: { message: 'Rate limit', type: 'tokens', code: 'rate_limit_exceeded' } } },
      ],
    });
    proof.expect(await thrownBy(drain), { rule: RULES.http.too_many_requests, code: 'LLM_RATE_LIMITED' });
    server.script({
      sse: [
        { data: chunk },
        { data: { error: { message: 'quota', type: 'insufficient_quota', code: 'insufficient_quota' } } },
      ],
    });
    proof.expect(await thrownBy(drain), { rule: RULES.llm.quota });
  });

  test("finish_reason length and content_filter raise the parse helpers' errors", async () => {
    const completion = (finish: string) => ({
      id: 'c',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o-mini',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: '{"a":', refusal: null },
          finish_reason: finish,
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    });
    const parse = () =>
      client.chat.completions.parse({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' }, strict: true } },
      });
    server.script({ status: 200, body: completion('length') });
    proof.expect(await thrownBy(parse), { rule: RULES.llm.context_length });
    server.script({ status: 200, body: completion('content_filter') });
    proof.expect(await thrownBy(parse), { rule: RULES.llm.content_filtered });
  });

  test('connection refused, reset and a hang past the SDK timeout', async () => {
    const port = await freePort();
    const refused = new OpenAI({ apiKey: 'sk-x', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    proof.expect(await thrownBy(() => refused.models.list()), {
      rule: RULES.net.connection_failed,
      code: 'LLM_CONNECTION_FAILED',
      dependency: 'openai',
    });
    server.script({ reset: true });
    proof.expect(await thrownBy(chat), { rule: RULES.net.connection_failed, code: 'LLM_CONNECTION_FAILED' });
    server.script({ hang: true });
    // fetch refuses port 1 ("bad port", no errno): only the SDK's own connection error remains.
    const badPort = new OpenAI({ apiKey: 'sk-x', baseURL: 'http://127.0.0.1:1/v1', maxRetries: 0 });
    proof.expect(await thrownBy(() => badPort.models.list()), {
      rule: RULES.llm.connection_failed,
      code: 'LLM_CONNECTION_FAILED',
    });
    const impatient = new OpenAI({ apiKey: 'sk-x', baseURL: `${server.url}/v1`, maxRetries: 0, timeout: 150 });
    proof.expect(await thrownBy(() => impatient.models.list()), {
      rule: RULES.llm.connection_timeout,
      code: 'LLM_TIMEOUT',
    });
  });

  test('a stream cut mid-way (socket closed after partial output) is a network failure', async () => {
    const chunk = completionChunk('partial');
    server.script({ sse: [{ data: chunk }], cut: true });
    const seen: string[] = [];
    const error = await thrownBy(async () => {
      const stream = await client.chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      });
      for await (const part of stream) seen.push(part.choices[0]?.delta.content ?? '');
    });
    assert.deepEqual(seen, ['partial']);
    proof.expect(error, { rule: RULES.net.connection_failed });
  });

  test('the caller aborting is cancellation, origin caller', async () => {
    server.script({ hang: true });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const error = proof.expect(await thrownBy(() => client.models.list({ signal: controller.signal })), {
      rule: RULES.llm.user_abort,
      code: 'REQUEST_CANCELLED',
      status: 499,
    });
    assert.equal(error.origin, 'caller');
  });

  test('every openai-reachable row of the llm and http tables is proven here', () => {
    // Anthropic-only rows are proven in anthropic.test.ts.
    proof.assertCovered([RULES.llm.overloaded]);
  });
});
