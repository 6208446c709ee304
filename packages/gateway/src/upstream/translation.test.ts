import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { BreakwaterError } from 'breakwater';
import { PROTOCOLS } from './protocols.js';
import type { ChatProtocol } from './protocol.js';

const target = { key: 'p:m', model: 'm', defaultMaxTokens: 1024 };
const NATIVE: ChatProtocol[] = [PROTOCOLS.anthropic, PROTOCOLS.gemini, PROTOCOLS.bedrock];

/** Runs `work`; a throw must be a BreakwaterError (a 400 or a classified upstream failure), never a TypeError. */
function settles(work: () => unknown): void {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof BreakwaterError, `threw ${String(error)}`);
  }
}

// Parsed JSON can carry an own `toString` that is not a function: String() of it throws.
const hostile = fc.constant(JSON.parse('{"toString":false,"valueOf":null}') as unknown);
const anything = () => fc.oneof({ weight: 5, arbitrary: fc.anything() }, { weight: 1, arbitrary: hostile });

// What a client can send: the fields the gateway's schema lets through (messages with a string
// role), with anything at all inside them.
const message = fc.record(
  {
    role: fc.oneof(fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool'), fc.string()),
    content: anything(),
    tool_calls: anything(),
    tool_call_id: anything(),
    name: anything(),
  },
  { requiredKeys: ['role'] },
);
const body = fc.record(
  {
    messages: fc.array(message, { minLength: 1, maxLength: 6 }),
    tools: anything(),
    tool_choice: anything(),
    max_tokens: anything(),
    stop: anything(),
    temperature: anything(),
    response_format: anything(),
    user: anything(),
    n: anything(),
    parallel_tool_calls: anything(),
  },
  { requiredKeys: ['messages'] },
);

// What an upstream can answer: JSON objects, often in roughly the right shape with anything inside.
const answers = fc.oneof(
  fc.object(),
  fc.record({ content: anything(), stop_reason: anything(), usage: anything(), id: anything() }),
  fc.record({
    candidates: fc.oneof(
      anything(),
      fc.array(fc.record({ content: fc.record({ parts: fc.array(anything()) }), finishReason: anything() })),
    ),
    usageMetadata: anything(),
    promptFeedback: anything(),
  }),
);
const streamEvent = answers.chain((answer) =>
  fc
    .record({
      type: fc.constantFrom('message_start', 'content_block_start', 'content_block_delta', 'message_delta', 'error'),
      // Bedrock's events are keyed by their type.
      contentBlockStart: anything(),
      contentBlockDelta: anything(),
      messageStop: anything(),
      metadata: anything(),
      index: anything(),
      delta: anything(),
      content_block: anything(),
      message: anything(),
    })
    .map((event) => JSON.stringify({ ...answer, ...event })),
);

describe('translation never breaks on what a client or an upstream sends', () => {
  test('any request: a native request or a 400 naming the field', () => {
    fc.assert(
      fc.property(body, fc.boolean(), (request, stream) => {
        for (const protocol of NATIVE)
          settles(() => {
            try {
              JSON.stringify(protocol.chatRequest(request as Record<string, unknown>, target, stream));
            } catch (error) {
              if (error instanceof BreakwaterError) assert.equal(error.code, 'GATEWAY_FIELD_UNSUPPORTED');
              throw error;
            }
          });
      }),
      { numRuns: 1_500 },
    );
  });

  test('any answer and any stream event: OpenAI shapes or a classified failure', () => {
    fc.assert(
      fc.property(answers, fc.array(fc.oneof(fc.json(), fc.string(), streamEvent)), (answer, events) => {
        for (const protocol of NATIVE) {
          settles(() => {
            const translated = protocol.chatResponse(answer as Record<string, unknown>, target);
            const usage = translated['usage'] as Record<string, unknown>;
            assert.ok(Number.isFinite(usage['total_tokens']), 'token counts are numbers');
          });
          const translate = protocol.streamTranslator(target);
          for (const data of events) {
            const chunks = translate(data);
            for (const chunk of chunks ?? []) if (chunk.data) JSON.parse(chunk.data);
          }
        }
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('Anthropic Messages translation', () => {
  const anthropic = PROTOCOLS.anthropic;
  test('system prompts joined, turns of one role merged, tool results in a user turn, the prefill trimmed', () => {
    const native = anthropic.chatRequest(
      {
        model: 'alias',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: [{ type: 'text', text: 'Use tools.' }] },
          { role: 'user', content: 'Weather?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c1', type: 'function', function: { name: 'w', arguments: '{"city":"Oslo"}' } }],
          },
          { role: 'tool', tool_call_id: 'c1', content: 'cold' },
          { role: 'user', content: 'And so?' },
          { role: 'assistant', content: 'It is ' },
        ],
        stop: 'END',
        parallel_tool_calls: false,
        tools: [{ type: 'function', function: { name: 'w', parameters: { type: 'object' } } }],
        tool_choice: 'required',
      },
      target,
      false,
    );
    assert.deepEqual(native, {
      path: '/messages',
      body: {
        model: 'm',
        max_tokens: 1024,
        system: 'Be brief.\n\nUse tools.',
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'c1', name: 'w', input: { city: 'Oslo' } }] },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'c1', content: 'cold' },
              { type: 'text', text: 'And so?' },
            ],
          },
          { role: 'assistant', content: [{ type: 'text', text: 'It is' }] },
        ],
        stop_sequences: ['END'],
        tools: [{ name: 'w', input_schema: { type: 'object' } }],
        tool_choice: { type: 'any', disable_parallel_tool_use: true },
      },
    });
  });

  test('images: URLs and base64 data URLs as Anthropic image sources', () => {
    const native = anthropic.chatRequest(
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
              { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } },
            ],
          },
        ],
      },
      target,
      true,
    ).body as { messages: Array<{ content: unknown[] }>; stream: boolean };
    assert.equal(native.stream, true);
    assert.deepEqual(native.messages[0]!.content, [
      { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
    ]);
  });

  test('stop reasons as finish reasons, cached tokens inside prompt_tokens', () => {
    const answer = (stop_reason: string) =>
      anthropic.chatResponse(
        {
          id: 'msg_1',
          content: [{ type: 'text', text: 'hi' }],
          stop_reason,
          usage: { input_tokens: 10, output_tokens: 2, cache_read_input_tokens: 5, cache_creation_input_tokens: 1 },
        },
        target,
      ) as { choices: Array<{ finish_reason: string }>; usage: unknown };
    const expected = { end_turn: 'stop', max_tokens: 'length', tool_use: 'tool_calls', refusal: 'content_filter' };
    for (const [stop, finish] of Object.entries(expected)) assert.equal(answer(stop).choices[0]!.finish_reason, finish);
    assert.deepEqual(answer('end_turn').usage, {
      prompt_tokens: 16,
      completion_tokens: 2,
      total_tokens: 18,
      prompt_tokens_details: { cached_tokens: 5 },
    });
  });
});

describe('Gemini generateContent translation', () => {
  const gemini = PROTOCOLS.gemini;
  test('roles, function calls by name, JSON output and generation settings', () => {
    const native = gemini.chatRequest(
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Weather?' },
          {
            role: 'assistant',
            content: '',
            tool_calls: [{ id: 'call_0__thought__c2ln', type: 'function', function: { name: 'w', arguments: '{}' } }],
          },
          { role: 'tool', tool_call_id: 'call_0__thought__c2ln', content: 'cold' },
        ],
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
        tool_choice: { type: 'function', function: { name: 'w' } },
        max_completion_tokens: 50,
        seed: 7,
      },
      target,
      true,
    );
    assert.equal(native.path, '/models/m:streamGenerateContent?alt=sse');
    assert.deepEqual(native.body, {
      contents: [
        { role: 'user', parts: [{ text: 'Weather?' }] },
        { role: 'model', parts: [{ functionCall: { name: 'w', args: {} }, thoughtSignature: 'c2ln' }] },
        { role: 'user', parts: [{ functionResponse: { name: 'w', response: { content: 'cold' } } }] },
      ],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['w'] } },
      generationConfig: {
        maxOutputTokens: 50,
        responseMimeType: 'application/json',
        responseJsonSchema: { type: 'object' },
        seed: 7,
      },
    });
  });

  test('finish reasons (SAFETY is a content filter), thoughts out of the answer, a blocked prompt is a content filter', () => {
    const answer = (finishReason: string) =>
      gemini.chatResponse(
        {
          candidates: [{ content: { parts: [{ text: 'thinking', thought: true }, { text: 'hi' }] }, finishReason }],
          usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2, thoughtsTokenCount: 4 },
        },
        target,
      ) as { choices: Array<{ finish_reason: string; message: { content: string } }>; usage: unknown };
    assert.equal(answer('SAFETY').choices[0]!.finish_reason, 'content_filter');
    assert.equal(answer('MAX_TOKENS').choices[0]!.finish_reason, 'length');
    assert.equal(answer('STOP').choices[0]!.message.content, 'hi');
    assert.deepEqual(answer('STOP').usage, {
      prompt_tokens: 3,
      completion_tokens: 6,
      total_tokens: 9,
      completion_tokens_details: { reasoning_tokens: 4 },
    });
    assert.throws(
      () => gemini.chatResponse({ promptFeedback: { blockReason: 'SAFETY' } }, target),
      (error: BreakwaterError) => error.category === 'content_filtered',
    );
  });
});

describe('Bedrock Converse translation', () => {
  test('system, turns, tool calls and results, images, inference settings, tool choice', () => {
    const native = PROTOCOLS.bedrock.chatRequest(
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Look' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBO' } },
            ],
          },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 't1', type: 'function', function: { name: 'w', arguments: '{"a":1}' } }],
          },
          { role: 'tool', tool_call_id: 't1', content: 'sunny' },
        ],
        max_tokens: 9,
        temperature: 0.5,
        stop: ['X'],
        tools: [{ type: 'function', function: { name: 'w', description: 'weather' } }],
        tool_choice: 'required',
      },
      { key: 'aws:m:1', model: 'm:1', defaultMaxTokens: 1 },
      true,
    );
    assert.equal(native.path, '/model/m%3A1/converse-stream');
    assert.deepEqual(native.body, {
      messages: [
        { role: 'user', content: [{ text: 'Look' }, { image: { format: 'png', source: { bytes: 'iVBO' } } }] },
        { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'w', input: { a: 1 } } }] },
        { role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [{ text: 'sunny' }] } }] },
      ],
      system: [{ text: 'Be brief.' }],
      inferenceConfig: { maxTokens: 9, temperature: 0.5, stopSequences: ['X'] },
      toolConfig: {
        tools: [
          {
            toolSpec: { name: 'w', description: 'weather', inputSchema: { json: { type: 'object', properties: {} } } },
          },
        ],
        toolChoice: { any: {} },
      },
    });
    assert.throws(
      () =>
        PROTOCOLS.bedrock.chatRequest(
          { messages: [{ role: 'user', content: 'x' }], tool_choice: 'none', tools: [] },
          target,
          false,
        ),
      (error: BreakwaterError) => error.code === 'GATEWAY_FIELD_UNSUPPORTED',
    );
  });
});

test('passThrough: the body goes on with the target model, every key kept as the client sent it (__proto__ too)', async () => {
  const { passThrough } = await import('./openai.js');
  const body = JSON.parse('{"model":"alias","input":"hi","__proto__":{"polluted":1}}') as Record<string, unknown>;
  const native = passThrough('/embeddings', body, { key: 'p:m', model: 'real-model', defaultMaxTokens: 1 }, undefined);
  assert.deepEqual(
    JSON.parse(JSON.stringify(native.body)),
    JSON.parse('{"model":"real-model","input":"hi","__proto__":{"polluted":1}}'),
  );
  assert.equal(Object.getPrototypeOf(native.body), Object.prototype, 'the copy keeps its prototype');
  assert.equal(body['model'], 'alias', "the client's body is not changed");
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});
