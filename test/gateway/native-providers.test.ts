import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import pino from 'pino';
import { breakwaterPinoOptions } from 'breakwater/pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';
import { failure, resetSimulators } from '../support/openai-failure.js';
import { eventually } from '../support/wait-for.js';

// The real openai SDK → the gateway → upstreams that speak OpenAI's, Anthropic's and Gemini's own
// protocols (one simulator each). The client never knows which one answered, except by the headers.
const ANTHROPIC_KEY = 'sk-ant-api03-nativeE2Esecret0123456789';
const GEMINI_KEY = 'AIzaSyNativeE2EsecretGEMINI0123456';
let openai: Simulator;
let anthropic: Simulator;
let gemini: Simulator;
let gateway: Gateway;
let client: OpenAI;
const logs: string[] = [];
const messages = [
  { role: 'system' as const, content: 'Answer briefly.' },
  { role: 'user' as const, content: 'hello' },
];
const tools = [
  {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      description: 'The weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } } },
    },
  },
];
const REPLY = 'Breakwater classifies every failure once and decides by category.';

before(async () => {
  const options = { retryAfterMs: 20, tokenDelayMs: 1 };
  openai = await startSimulator(options);
  anthropic = await startSimulator(options);
  gemini = await startSimulator(options);
  const root = (sim: Simulator) => `http://127.0.0.1:${sim.port}`;
  const config = parseConfig({
    providers: {
      compat: { baseUrl: openai.url },
      plain: { baseUrl: openai.url },
      claude: { kind: 'anthropic', baseUrl: `${root(anthropic)}/v1`, apiKeyEnv: 'ANTHROPIC_KEY' },
      google: { kind: 'gemini', baseUrl: `${root(gemini)}/v1beta`, apiKeyEnv: 'GEMINI_KEY' },
    },
    routes: {
      claude: { targets: [{ provider: 'claude', model: 'claude-sonnet-4-5' }] },
      gemini: { targets: [{ provider: 'google', model: 'gemini-2.5-flash' }] },
      cross: {
        targets: [
          { provider: 'compat', model: 'gpt-4o-mini' },
          { provider: 'claude', model: 'claude-sonnet-4-5' },
        ],
        retry: { maxAttempts: 2 },
      },
      'claude-then-gemini': {
        targets: [
          { provider: 'claude', model: 'claude-sonnet-4-5' },
          { provider: 'google', model: 'gemini-2.5-flash' },
        ],
        retry: { maxAttempts: 2 },
      },
      long: {
        targets: [
          { provider: 'google', model: 'gemini-2.5-flash', contextWindow: 1_048_576 },
          { provider: 'claude', model: 'claude-sonnet-4-5', contextWindow: 2_000_000 },
        ],
      },
      'tools-somewhere': {
        targets: [
          { provider: 'plain', model: 'no-tools', capabilities: { tools: false } },
          { provider: 'claude', model: 'claude-sonnet-4-5' },
        ],
      },
      'resume-on-claude': {
        targets: [
          { provider: 'compat', model: 'gpt-4o-mini' },
          { provider: 'claude', model: 'claude-sonnet-4-5', capabilities: { prefill: true } },
        ],
        stream: { resume: 'continue' },
      },
      'tools-nowhere': { targets: [{ provider: 'plain', model: 'no-tools', capabilities: { tools: false } }] },
    },
    journal: { memory: true, content: 'redacted' },
    retryBudget: { ratio: 1, minPerSecond: 100 },
  });
  const sink = new Writable({ write: (chunk, _e, done) => (logs.push(chunk.toString()), done()) });
  gateway = await createGateway(config, {
    env: { ANTHROPIC_KEY, GEMINI_KEY },
    logger: pino({ ...breakwaterPinoOptions(), level: 'debug' }, sink),
  });
  const address = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  client = new OpenAI({ baseURL: `${address}/v1`, apiKey: 'client-key-unused' });
});
after(async () => {
  await gateway.close();
  await Promise.all([openai.close(), anthropic.close(), gemini.close()]);
});

const reset = () => resetSimulators(openai, anthropic, gemini);
const lastBody = (sim: Simulator) => sim.stats().lastBodies.at(-1) as Record<string, unknown>;

async function collect(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
  let text = '';
  let usage: OpenAI.CompletionUsage | undefined;
  let finish: string | null | undefined;
  const calls: Array<{ id?: string; name?: string; arguments: string }> = [];
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    text += choice?.delta.content ?? '';
    finish = choice?.finish_reason ?? finish;
    for (const call of choice?.delta.tool_calls ?? []) {
      calls[call.index] ??= { arguments: '' };
      const into = calls[call.index]!;
      if (call.id) into.id = call.id;
      if (call.function?.name) into.name = call.function.name;
      into.arguments += call.function?.arguments ?? '';
    }
    if (chunk.usage) usage = chunk.usage;
  }
  return { text, usage, finish, calls };
}

describe('native upstreams behind the OpenAI-compatible gateway', () => {
  test("chat through Anthropic and Gemini: OpenAI's shape, usage mapped, each provider's own request and key header", async () => {
    reset();
    const viaClaude = await client.chat.completions.create({ model: 'claude', messages }).withResponse();
    assert.equal(viaClaude.data.object, 'chat.completion');
    assert.equal(viaClaude.data.choices[0]!.message.content, REPLY);
    assert.equal(viaClaude.data.choices[0]!.finish_reason, 'stop');
    // input 12 + cache read 4: OpenAI counts cached tokens inside prompt_tokens.
    assert.deepEqual(viaClaude.data.usage, {
      prompt_tokens: 16,
      completion_tokens: 9,
      total_tokens: 25,
      prompt_tokens_details: { cached_tokens: 4 },
    });
    assert.equal(viaClaude.response.headers.get('x-breakwater-target'), 'claude:claude-sonnet-4-5');
    assert.deepEqual(anthropic.stats().byPath, { '/v1/messages': 1 });
    assert.deepEqual(anthropic.stats().authorizations, [ANTHROPIC_KEY]);
    const claudeBody = lastBody(anthropic);
    assert.equal(claudeBody['system'], 'Answer briefly.');
    assert.deepEqual(claudeBody['messages'], [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }]);
    assert.equal(claudeBody['max_tokens'], 4096, 'the documented default when the client sets none');

    const viaGemini = await client.chat.completions
      .create({ model: 'gemini', messages, max_tokens: 100, temperature: 0.2, stop: ['END'] })
      .withResponse();
    assert.equal(viaGemini.data.choices[0]!.message.content, REPLY);
    assert.equal(viaGemini.data.usage?.total_tokens, 21);
    assert.equal(viaGemini.response.headers.get('x-breakwater-target'), 'google:gemini-2.5-flash');
    assert.deepEqual(gemini.stats().byPath, { '/v1beta/models/gemini-2.5-flash:generateContent': 1 });
    assert.deepEqual(gemini.stats().authorizations, [GEMINI_KEY]);
    const geminiBody = lastBody(gemini);
    assert.deepEqual(geminiBody['systemInstruction'], { parts: [{ text: 'Answer briefly.' }] });
    assert.deepEqual(geminiBody['generationConfig'], {
      maxOutputTokens: 100,
      stopSequences: ['END'],
      temperature: 0.2,
    });
  });

  test('streaming through both: one clean OpenAI stream, the usage at the end when the client asks', async () => {
    reset();
    for (const model of ['claude', 'gemini']) {
      const stream = await client.chat.completions.create({
        model,
        messages,
        stream: true,
        stream_options: { include_usage: true },
      });
      const { text, usage, finish } = await collect(stream);
      assert.equal(text, REPLY, model);
      assert.equal(finish, 'stop', model);
      assert.ok(usage && usage.completion_tokens > 0, `${model}: usage at the end`);
    }
    assert.deepEqual(gemini.stats().byPath, { '/v1beta/models/gemini-2.5-flash:streamGenerateContent': 1 });
    const rows = await gateway.journal.query({ kind: 'chat.completions', limit: 2 });
    assert.deepEqual(
      rows.map((row) => row.status),
      ['succeeded', 'succeeded'],
    );
  });

  test('tool calling both ways, streamed and not: tool calls out, tool results back in', async () => {
    reset();
    const ask = [{ role: 'user' as const, content: 'Weather in Paris?' }];
    for (const model of ['claude', 'gemini']) {
      const first = await client.chat.completions.create({ model, messages: ask, tools });
      const call = first.choices[0]!.message.tool_calls?.[0];
      assert.equal(first.choices[0]!.finish_reason, 'tool_calls', model);
      assert.ok(call?.type === 'function');
      assert.equal(call.function.name, 'get_weather');
      assert.deepEqual(JSON.parse(call.function.arguments), { city: 'sim', days: 1 });

      const streamed = await collect(
        await client.chat.completions.create({ model, messages: ask, tools, stream: true }),
      );
      assert.equal(streamed.finish, 'tool_calls', model);
      assert.equal(streamed.calls.length, 1);
      assert.equal(streamed.calls[0]!.name, 'get_weather');
      assert.deepEqual(JSON.parse(streamed.calls[0]!.arguments), { city: 'sim', days: 1 }, `${model}: streamed deltas`);

      const answer = await client.chat.completions.create({
        model,
        tools,
        messages: [
          ...ask,
          first.choices[0]!.message,
          { role: 'tool', tool_call_id: call.id, content: '{"celsius":21}' },
        ],
      });
      assert.equal(answer.choices[0]!.message.content, REPLY, `${model}: answers after the tool result`);
    }
    // The tool result went back in each provider's own form.
    const claudeTurns = lastBody(anthropic)['messages'] as Array<{
      role: string;
      content: Array<Record<string, unknown>>;
    }>;
    assert.equal(claudeTurns.at(-2)!.content[0]!['type'], 'tool_use');
    assert.deepEqual(claudeTurns.at(-1)!.content[0], {
      type: 'tool_result',
      tool_use_id: claudeTurns.at(-2)!.content[0]!['id'],
      content: '{"celsius":21}',
    });
    const geminiTurns = lastBody(gemini)['contents'] as Array<{ role: string; parts: Array<Record<string, unknown>> }>;
    // Gemini's thought signature rode in the tool call id and came back with the call.
    assert.equal(geminiTurns.at(-2)!.parts[0]!['thoughtSignature'], 'c2ln');
    assert.deepEqual(geminiTurns.at(-1)!.parts[0], {
      functionResponse: { name: 'get_weather', response: { celsius: 21 } },
    });
  });

  test('cross-provider fallback: the OpenAI-compatible target answers 503, Anthropic answers in OpenAI shape', async () => {
    reset();
    openai.script('unavailable', 'unavailable');
    const { data, response } = await client.chat.completions.create({ model: 'cross', messages }).withResponse();
    assert.equal(data.choices[0]!.message.content, REPLY);
    assert.equal(response.headers.get('x-breakwater-target'), 'claude:claude-sonnet-4-5');
    assert.equal(response.headers.get('x-breakwater-fallback-from'), 'compat:gpt-4o-mini');
    assert.equal(data.usage?.prompt_tokens, 16, "the answering model's usage");
    assert.equal(openai.stats().received, 2);
    assert.equal(anthropic.stats().received, 1);
  });

  test('Anthropic 529 before the first byte of a stream → the next target; nothing of the failure reaches the client', async () => {
    reset();
    anthropic.script('overloaded', 'overloaded');
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'claude-then-gemini', messages, stream: true })
      .withResponse();
    assert.equal(response.headers.get('x-breakwater-target'), 'google:gemini-2.5-flash');
    assert.equal((await collect(stream)).text, REPLY);
    assert.equal(anthropic.stats().received, 2, 'retried once on Anthropic, then moved on');
  });

  test('an error event after the first byte (Anthropic, Gemini) ends the stream with an OpenAI-shaped error; the partial is journaled', async () => {
    for (const [model, sim] of [
      ['claude', anthropic],
      ['gemini', gemini],
    ] as const) {
      reset();
      sim.script('stream_error');
      const stream = await client.chat.completions.create({ model, messages, stream: true });
      let text = '';
      const error = await failure(
        (async () => {
          for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        })(),
      );
      assert.ok(
        text.length > 0 && REPLY.startsWith(text) && text !== REPLY,
        `${model} partial: ${JSON.stringify(text)}`,
      );
      assert.match(String(error.message), /overloaded/i);
      const [row] = await gateway.journal.query({ kind: 'chat.completions', limit: 1 });
      assert.equal(row?.status, 'failed');
      assert.equal(row?.errorCode, 'LLM_OVERLOADED', model);
      assert.equal((row?.result as { content: string }).content, text);
      assert.equal(sim.stats().received, 1, 'never retried after the first byte');
    }
  });

  test("native failures: rate limits wait for the provider's own delay, a token limit moves to a larger window, a safety block is a content filter", async () => {
    reset();
    // The wait each provider asked for, as the attempt trail recorded it (no clock in the assertion).
    const firstWait = async (response: Response) => {
      const row = await eventually(
        async () => (await gateway.journal.query({ correlationId: response.headers.get('x-request-id')! }))[0],
        (found) => found?.status === 'succeeded',
        'the journal row',
      );
      const [first] = (row!.result as { timeline: Array<{ retryDelayMs?: number; retryReason?: string }> }).timeline;
      return { delay: first?.retryDelayMs, reason: first?.retryReason };
    };
    anthropic.script('rate_limit');
    const retried = await client.chat.completions.create({ model: 'claude', messages }).withResponse();
    assert.equal(retried.response.headers.get('x-breakwater-attempts'), '2');
    assert.deepEqual(await firstWait(retried.response), { delay: 1_000, reason: 'retry_after' }, 'retry-after: 1');

    gemini.script('rate_limit');
    const again = await client.chat.completions.create({ model: 'gemini', messages }).withResponse();
    assert.equal(again.response.headers.get('x-breakwater-attempts'), '2');
    assert.deepEqual(await firstWait(again.response), { delay: 1_000, reason: 'retry_after' }, 'RetryInfo 1s');

    gemini.script('context_length');
    const larger = await client.chat.completions.create({ model: 'long', messages }).withResponse();
    assert.equal(larger.response.headers.get('x-breakwater-target'), 'claude:claude-sonnet-4-5');

    gemini.script('content_filter');
    const filtered = await failure(client.chat.completions.create({ model: 'gemini', messages }));
    // The gateway's status for every content filter, OpenAI's own included.
    assert.equal(filtered.status, 422);
    assert.equal((filtered.error as { category?: string }).category, 'content_filtered');

    anthropic.script('context_length');
    const tooLong = await failure(client.chat.completions.create({ model: 'claude', messages }));
    assert.equal(tooLong.status, 400);
    assert.equal((tooLong.error as { code?: string }).code, 'LLM_CONTEXT_LENGTH_EXCEEDED');
  });

  test("keys refused upstream are the gateway's own credentials, never the caller's, and never echoed", async () => {
    reset();
    for (const [model, sim] of [
      ['claude', anthropic],
      ['gemini', gemini],
    ] as const) {
      sim.script('unauthorized');
      const refused = await failure(client.chat.completions.create({ model, messages }));
      assert.equal((refused.error as { type?: string }).type, 'api_error', model);
      assert.match(refused.message, /gateway's own credentials/);
    }
    const everything = JSON.stringify(await gateway.journal.query({ limit: 1_000 })) + logs.join('');
    assert.ok(everything.length > 1_000);
    for (const key of [ANTHROPIC_KEY, GEMINI_KEY])
      assert.ok(!everything.includes(key), 'a key in logs or journal rows');
  });

  test('a field the provider cannot honour is a 400 naming the field and the provider; nothing is sent', async () => {
    reset();
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['claude', { logprobs: true }, 'logprobs'],
      ['claude', { n: 2 }, 'n'],
      ['gemini', { user: 'end-user-1' }, 'user'],
      [
        'gemini',
        {
          messages: [
            { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] },
          ],
        },
        'messages[0].content[0]',
      ],
      [
        'claude',
        {
          messages: [
            { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] },
          ],
        },
        'messages[0].content[0]',
      ],
    ];
    for (const [model, extra, param] of cases) {
      const refused = await failure(
        client.chat.completions.create({
          model,
          messages,
          ...extra,
        } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming),
      );
      assert.equal(refused.status, 400, param);
      assert.equal((refused.error as { param?: string }).param, param);
      assert.equal((refused.error as { code?: string }).code, 'GATEWAY_FIELD_UNSUPPORTED');
      assert.match(refused.message, new RegExp(`${model === 'claude' ? 'anthropic' : 'gemini'} API`));
    }
    assert.equal(anthropic.stats().received + gemini.stats().received, 0);
    // Values that ask for nothing beyond the default pass; an image as base64 reaches Gemini inline.
    await client.chat.completions.create({ model: 'claude', messages, n: 1, logprobs: false, presence_penalty: 0 });
    await client.chat.completions.create({
      model: 'gemini',
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] },
      ],
    });
    const parts = (lastBody(gemini)['contents'] as Array<{ parts: unknown[] }>)[0]!.parts;
    assert.deepEqual(parts, [{ inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } }]);
  });

  test('a request with tools never reaches a target that declares none; without tools it does', async () => {
    reset();
    const withTools = await client.chat.completions
      .create({ model: 'tools-somewhere', messages, tools })
      .withResponse();
    assert.equal(withTools.response.headers.get('x-breakwater-target'), 'claude:claude-sonnet-4-5');
    assert.equal(openai.stats().received, 0);
    const plain = await client.chat.completions.create({ model: 'tools-somewhere', messages }).withResponse();
    assert.equal(plain.response.headers.get('x-breakwater-target'), 'plain:no-tools');
    const nowhere = await failure(client.chat.completions.create({ model: 'tools-nowhere', messages, tools }));
    assert.equal(nowhere.status, 400);
    assert.equal((nowhere.error as { param?: string }).param, 'tools');
    assert.equal(openai.stats().received, 1);
  });

  test('a stream cut after the first byte continues on Anthropic from the partial answer (prefill), seamlessly', async () => {
    reset();
    openai.script('cut_stream');
    const { text, finish } = await collect(
      await client.chat.completions.create({ model: 'resume-on-claude', messages, stream: true }),
    );
    assert.equal(text, REPLY);
    assert.equal(finish, 'stop');
    const turns = lastBody(anthropic)['messages'] as Array<{ role: string; content: Array<{ text?: string }> }>;
    const prefill = turns.at(-1)!;
    assert.equal(prefill.role, 'assistant');
    assert.ok(REPLY.startsWith(prefill.content[0]!.text!) && !/\s$/.test(prefill.content[0]!.text!));
  });
});
