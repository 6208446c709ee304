import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import OpenAI from 'openai';
import { classifyResponse, type Category } from 'breakwater';
import { RULES, type Rule } from 'breakwater/rules';
import { conformance, thrownBy } from '../support/conformance.js';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.js';

// The OpenAI-compatible world's real error bodies, each replayed by a local server to the real
// openai SDK (and, for bodies the SDK cannot carry, to the gateway's own path: classifyResponse of
// the parsed body), classified to the expected category, code, retryability and delay.
const proof = conformance([RULES.provider]);
let server: ScriptedServer;
let client: OpenAI;
before(async () => {
  server = await startScriptedServer();
  client = new OpenAI({
    apiKey: 'sk-test-providers-0123456789',
    baseURL: `${server.url}/v1`,
    maxRetries: 0,
    timeout: 2000,
  });
});
after(() => server.close());

const chat = () => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });

interface Row {
  rule: Rule;
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  code: string;
  details?: Record<string, unknown>;
  /** The SDK only keeps a body's nested `error`: top-level bodies go through classifyResponse. */
  topLevel?: boolean;
}

/** The real bodies, as the providers send them. */
const ROWS: Row[] = [
  {
    rule: RULES.provider.vllm_context_length,
    status: 400,
    body: {
      error: {
        message:
          "'max_tokens' or 'max_completion_tokens' is too large: 8000. This model's maximum context length is 4096 tokens and your request has 2778 input tokens (8000 > 4096 - 2778). None",
        type: 'BadRequestError',
        param: null,
        code: 400,
      },
    },
    code: 'LLM_CONTEXT_LENGTH_EXCEEDED',
    details: { limitTokens: 4096, requestedTokens: 10778 },
  },
  {
    rule: RULES.provider.vllm_context_length,
    status: 400,
    body: {
      object: 'error',
      message:
        "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4488 in the messages, 512 in the completion). Please reduce the length of the messages or completion.",
      type: 'BadRequestError',
      param: null,
      code: 400,
    },
    topLevel: true,
    code: 'LLM_CONTEXT_LENGTH_EXCEEDED',
    details: { limitTokens: 4096, requestedTokens: 5000 },
  },
  {
    rule: RULES.provider.vllm_context_length,
    status: 400,
    body: {
      object: 'error',
      message: "The input (61709 tokens) is longer than the model's context length (40960 tokens).",
      type: 'BadRequestError',
      param: null,
      code: 400,
    },
    topLevel: true,
    code: 'LLM_CONTEXT_LENGTH_EXCEEDED',
    details: { limitTokens: 40960, requestedTokens: 61709 },
  },
  {
    rule: RULES.provider.llamacpp_context_length,
    status: 400,
    body: {
      error: {
        code: 400,
        message: 'request (4476 tokens) exceeds the available context size (4096 tokens), try increasing it',
        type: 'exceed_context_size_error',
        n_prompt_tokens: 4476,
        n_ctx: 4096,
      },
    },
    code: 'LLM_CONTEXT_LENGTH_EXCEEDED',
    details: { limitTokens: 4096, requestedTokens: 4476 },
  },
  {
    rule: RULES.provider.gemini_context_length,
    status: 400,
    body: {
      error: {
        code: 400,
        message: 'The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).',
        status: 'INVALID_ARGUMENT',
      },
    },
    code: 'LLM_CONTEXT_LENGTH_EXCEEDED',
    details: { limitTokens: 1048576, requestedTokens: 1200293 },
  },
  {
    rule: RULES.provider.xai_context_length,
    status: 400,
    body: {
      code: 'Client specified an invalid argument',
      error: "This model's maximum prompt length is 131072 but the request contains 140000 tokens.",
    },
    topLevel: true,
    code: 'LLM_CONTEXT_LENGTH_EXCEEDED',
    details: { limitTokens: 131072, requestedTokens: 140000 },
  },
  {
    rule: RULES.provider.tgi_context_length,
    status: 400,
    body: {
      error: {
        message:
          'Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4097. Given: 80125 `inputs` tokens and 4096 `max_new_tokens`',
        type: 'invalid_request_error',
        param: 'max_tokens',
        code: null,
      },
    },
    code: 'LLM_CONTEXT_LENGTH_EXCEEDED',
    details: { limitTokens: 4097, requestedTokens: 84221 },
  },
  {
    rule: RULES.provider.anthropic_context_length,
    status: 400,
    body: {
      type: 'error',
      error: {
        type: 'invalid_request_error',
        message:
          'input length and `max_tokens` exceed context limit: 199759 + 8192 > 200000, decrease input length or `max_tokens` and try again',
      },
    },
    code: 'LLM_CONTEXT_LENGTH_EXCEEDED',
    details: { limitTokens: 200000, requestedTokens: 207951 },
  },
  {
    rule: RULES.provider.anthropic_context_length,
    status: 400,
    body: {
      type: 'error',
      error: { type: 'invalid_request_error', message: 'prompt is too long: 210000 tokens > 200000 maximum' },
    },
    code: 'LLM_CONTEXT_LENGTH_EXCEEDED',
    details: { limitTokens: 200000, requestedTokens: 210000 },
  },
  {
    rule: RULES.provider.bedrock_context_length,
    status: 400,
    headers: { 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/' },
    body: { message: 'Input is too long for requested model.' },
    code: 'LLM_CONTEXT_LENGTH_EXCEEDED',
    topLevel: true,
  },
  {
    rule: RULES.provider.gemini_api_key_invalid,
    status: 400,
    body: {
      error: {
        code: 400,
        message: 'API key not valid. Please pass a valid API key.',
        status: 'INVALID_ARGUMENT',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'API_KEY_INVALID',
            domain: 'googleapis.com',
            metadata: { service: 'generativelanguage.googleapis.com' },
          },
        ],
      },
    },
    code: 'LLM_AUTH_FAILED',
  },
  {
    rule: RULES.provider.tokens_per_minute_too_large,
    status: 413,
    headers: { 'retry-after': '7' },
    body: {
      error: {
        message:
          'Request too large for model `llama-3.3-70b-versatile` in organization `org_01k` service tier `on_demand` on tokens per minute (TPM): Limit 12000, Requested 14137, please reduce your message size and try again.',
        type: 'tokens',
        code: 'rate_limit_exceeded',
      },
    },
    code: 'LLM_RATE_LIMITED',
    details: { tpmLimit: 12000, tpmRequested: 14137 },
  },
  {
    rule: RULES.provider.insufficient_balance,
    status: 402,
    body: {
      error: { message: 'Insufficient Balance', type: 'unknown_error', param: null, code: 'invalid_request_error' },
    },
    code: 'LLM_QUOTA_EXCEEDED',
  },
  {
    rule: RULES.provider.insufficient_balance,
    status: 402,
    body: { error: { code: 402, message: 'Insufficient credits. Add more using https://openrouter.ai/credits' } },
    code: 'LLM_QUOTA_EXCEEDED',
  },
  {
    rule: RULES.provider.azure_content_filter,
    status: 400,
    body: {
      error: {
        message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        type: null,
        param: 'prompt',
        code: 'content_filter',
        status: 400,
        innererror: {
          code: 'ResponsibleAIPolicyViolation',
          content_filter_result: {
            hate: { filtered: false, severity: 'safe' },
            jailbreak: { filtered: true, detected: true },
            self_harm: { filtered: false, severity: 'safe' },
            sexual: { filtered: false, severity: 'safe' },
            violence: { filtered: true, severity: 'medium' },
          },
        },
      },
    },
    code: 'LLM_CONTENT_FILTERED',
    details: { filters: ['jailbreak', 'violence'] },
  },
];

describe('provider error bodies', () => {
  test('each row, through the real openai SDK (or the gateway path for top-level bodies)', async () => {
    for (const row of ROWS) {
      server.script({ status: row.status, headers: row.headers ?? {}, body: row.body });
      let error;
      if (row.topLevel) {
        const response = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: '{}' });
        const parsed = (await response.json()) as unknown;
        error = classifyResponse(
          { status: response.status, headers: response.headers, body: parsed },
          { defaultDomain: 'LLM' },
        )!;
        // Classified from the parsed body, as the gateway does; recorded as this row's proof.
        proof.expect(error, { rule: row.rule, code: row.code });
      } else {
        error = proof.expect(await thrownBy(chat), { rule: row.rule, code: row.code });
      }
      assert.equal(error.code, row.code, row.rule.id);
      assert.equal(error.retryable, false, `${row.rule.id} is never retried`);
      for (const [key, value] of Object.entries(row.details ?? {}))
        assert.deepEqual(error.details?.[key], value, `${row.rule.id}: ${key}`);
    }
  });

  test('the rows do not overlap: no body matches a row of another category, nor a plain bad request', () => {
    const categoryOf = (body: unknown, status: number): Category | undefined =>
      classifyResponse({ status, body }, { defaultDomain: 'LLM' })?.category;
    for (const row of ROWS) assert.equal(categoryOf(row.body, row.status), row.rule.category, row.rule.id);
    // A caller's own bad request, worded like the rows but missing their numbers, stays a validation error.
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (text) => {
        const body = {
          error: {
            message: `Invalid 'temperature': ${text}`,
            type: 'invalid_request_error',
            param: 'temperature',
            code: null,
          },
        };
        assert.equal(categoryOf(body, 400), 'validation');
      }),
      { numRuns: 300 },
    );
    const near = [
      "This model's maximum context length is large. However, you requested few tokens",
      'Request too large for model x on tokens per minute (TPM): Limit 12000, Requested 100',
      'Balance is insufficient for nothing',
    ];
    for (const message of near) assert.notEqual(categoryOf({ error: { message } }, 400), 'context_length', message);
  });

  test('every provider row is proven here', () => proof.assertCovered());
});
