import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import { ApiError, GoogleGenAI } from '@google/genai';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { classify } from 'breakwater';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';

// Protocol fidelity of the simulator's native faces, proven by the official SDKs: if an SDK cannot
// parse what the simulator sends, the simulator is wrong (and so would be the gateway's tests).
let sim: Simulator;
let anthropic: Anthropic;
let gemini: GoogleGenAI;
let bedrock: BedrockRuntimeClient;
const REPLY = 'Breakwater classifies every failure once and decides by category.';
const weather = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

before(async () => {
  sim = await startSimulator({ retryAfterMs: 20, tokenDelayMs: 1 });
  const root = `http://127.0.0.1:${sim.port}`;
  anthropic = new Anthropic({ apiKey: 'sk-ant-api03-simulatorfidelity', baseURL: root, maxRetries: 0, timeout: 5_000 });
  gemini = new GoogleGenAI({
    apiKey: 'AIzaSimulatorFidelityKey0123',
    httpOptions: { baseUrl: root, apiVersion: 'v1beta', retryOptions: { attempts: 1 }, timeout: 5_000 },
  });
  bedrock = new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: root,
    credentials: { accessKeyId: 'AKIASIMULATORFIDELITY', secretAccessKey: 'simulator-fidelity-secret' },
    maxAttempts: 1,
    // HTTP/1.1: the simulator is a plain node:http server (the SDK's default handler speaks HTTP/2).
    requestHandler: new NodeHttpHandler(),
  });
});
after(() => sim.close());

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a failure');
}

const ask = { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user' as const, content: 'hi' }] };

describe('the simulator speaks Anthropic, as @anthropic-ai/sdk reads it', () => {
  test('messages: text, usage, stop reason', async () => {
    sim.clearScript();
    const message = await anthropic.messages.create(ask);
    assert.equal(message.type, 'message');
    assert.deepEqual(message.content, [{ type: 'text', text: REPLY }]);
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.usage.input_tokens, 12);
  });

  test('streaming: text deltas add up to the answer; the final message carries the stop reason', async () => {
    const stream = anthropic.messages.stream(ask);
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const final = await stream.finalMessage();
    assert.equal(text, REPLY);
    assert.equal(final.stop_reason, 'end_turn');
    assert.ok(final.usage.output_tokens > 0);
  });

  test('tool use, streamed and not: the SDK assembles the input from its JSON deltas', async () => {
    const plain = await anthropic.messages.create({ ...ask, tools: [weather] });
    assert.equal(plain.stop_reason, 'tool_use');
    assert.deepEqual(plain.content[0], {
      type: 'tool_use',
      id: plain.content[0]!.type === 'tool_use' ? plain.content[0]!.id : '',
      name: 'get_weather',
      input: { city: 'sim' },
    });
    const streamed = await anthropic.messages.stream({ ...ask, tools: [weather] }).finalMessage();
    const block = streamed.content[0];
    assert.ok(block?.type === 'tool_use');
    assert.deepEqual(block.input, { city: 'sim' });
  });

  test('errors: the SDK raises its own classes, and breakwater classifies them as the real API', async () => {
    const cases: Array<[Parameters<Simulator['script']>[0], abstract new (...args: never[]) => Error, string, string]> =
      [
        ['rate_limit', Anthropic.RateLimitError, 'rate_limit_error', 'rate_limited'],
        ['overloaded', Anthropic.InternalServerError, 'overloaded_error', 'overloaded'],
        ['context_length', Anthropic.BadRequestError, 'invalid_request_error', 'context_length'],
        ['quota', Anthropic.APIError, 'billing_error', 'quota_exceeded'],
        ['unauthorized', Anthropic.AuthenticationError, 'authentication_error', 'authentication'],
      ];
    for (const [fault, ErrorClass, type, category] of cases) {
      sim.script(fault);
      const error = await rejection(anthropic.messages.create(ask));
      assert.ok(error instanceof ErrorClass, `${fault}: ${String(error)}`);
      const body = (error as { error?: { error?: { type?: string } } }).error;
      assert.equal(body?.error?.type, type);
      assert.equal(classify(error).category, category, fault);
    }
    sim.script('rate_limit');
    const limited = (await rejection(anthropic.messages.create(ask))) as InstanceType<typeof Anthropic.APIError>;
    assert.equal(limited.headers?.get('retry-after'), '1');
    assert.equal(limited.headers?.get('anthropic-ratelimit-requests-remaining'), '0');
  });

  test('an error event inside a stream is raised by the SDK as the error it carries', async () => {
    sim.script('stream_error');
    const stream = anthropic.messages.stream(ask);
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const error = await rejection(stream.finalMessage());
    assert.ok(text.length > 0, 'some text came first');
    assert.ok(error instanceof Anthropic.APIError, String(error));
    assert.equal(classify(error).category, 'overloaded');
  });
});

describe('the simulator speaks Gemini, as @google/genai reads it', () => {
  const model = 'gemini-2.5-flash';
  test('generateContent: text and usage', async () => {
    sim.clearScript();
    const response = await gemini.models.generateContent({ model, contents: 'hi' });
    assert.equal(response.text, REPLY);
    assert.equal(response.usageMetadata?.promptTokenCount, 12);
    assert.equal(response.candidates?.[0]?.finishReason, 'STOP');
  });

  test('generateContentStream: the chunks add up to the answer', async () => {
    let text = '';
    let finish;
    for await (const chunk of await gemini.models.generateContentStream({ model, contents: 'hi' })) {
      text += chunk.text ?? '';
      finish = chunk.candidates?.[0]?.finishReason ?? finish;
    }
    assert.equal(text, REPLY);
    assert.equal(finish, 'STOP');
  });

  test('function calling: the SDK reads the call and its arguments', async () => {
    const response = await gemini.models.generateContent({
      model,
      contents: 'Weather in Paris?',
      config: {
        tools: [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: weather.input_schema }] }],
      },
    });
    assert.deepEqual(
      response.functionCalls?.map((call) => [call.name, call.args]),
      [['get_weather', { city: 'sim' }]],
    );
  });

  test('errors: ApiError with the status, and breakwater classifies the raw bodies as the real API', async () => {
    const cases: Array<[Parameters<Simulator['script']>[0], number, string]> = [
      ['rate_limit', 429, 'rate_limited'],
      ['unavailable', 503, 'overloaded'],
      ['context_length', 400, 'validation'],
      ['unauthorized', 400, 'validation'],
    ];
    for (const [fault, status, category] of cases) {
      sim.script(fault);
      const error = await rejection(gemini.models.generateContent({ model, contents: 'hi' }));
      assert.ok(error instanceof ApiError, `${fault}: ${String(error)}`);
      assert.equal(error.status, status);
      // The SDK keeps only the status (the body becomes message text): by status is all it allows.
      // The gateway reads the body itself and tells these apart (test/gateway/native-providers).
      assert.equal(classify(error).category, category, fault);
    }
    sim.script('content_filter');
    const blocked = await gemini.models.generateContent({ model, contents: 'hi' });
    assert.equal(blocked.promptFeedback?.blockReason, 'SAFETY');
    assert.equal(blocked.candidates, undefined);
  });

  test('an error inside a stream is raised by the SDK with its status', async () => {
    sim.script('stream_error');
    let text = '';
    const error = await rejection(
      (async () => {
        for await (const chunk of await gemini.models.generateContentStream({ model, contents: 'hi' }))
          text += chunk.text ?? '';
      })(),
    );
    assert.ok(text.length > 0);
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 503);
  });
});

describe('the simulator speaks Bedrock Converse, as @aws-sdk/client-bedrock-runtime reads it', () => {
  const modelId = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
  const messages = [{ role: 'user' as const, content: [{ text: 'hi' }] }];
  test('Converse: the message, stop reason and usage', async () => {
    sim.clearScript();
    const answer = await bedrock.send(new ConverseCommand({ modelId, messages }));
    assert.deepEqual(answer.output?.message?.content, [{ text: REPLY }]);
    assert.equal(answer.stopReason, 'end_turn');
    assert.equal(answer.usage?.inputTokens, 12);
  });

  test('ConverseStream: the SDK decodes the binary event stream (checksums and all) into the answer', async () => {
    const { stream } = await bedrock.send(new ConverseStreamCommand({ modelId, messages }));
    let text = '';
    let stop;
    let usage;
    for await (const event of stream!) {
      text += event.contentBlockDelta?.delta?.text ?? '';
      stop = event.messageStop?.stopReason ?? stop;
      usage = event.metadata?.usage ?? usage;
    }
    assert.equal(text, REPLY);
    assert.equal(stop, 'end_turn');
    assert.ok(usage?.outputTokens);
  });

  test('tool use, streamed and not', async () => {
    const toolConfig = { tools: [{ toolSpec: { name: 'get_weather', inputSchema: { json: weather.input_schema } } }] };
    const answer = await bedrock.send(new ConverseCommand({ modelId, messages, toolConfig }));
    assert.equal(answer.stopReason, 'tool_use');
    assert.deepEqual(answer.output?.message?.content?.[0]?.toolUse?.input, { city: 'sim' });
    const { stream } = await bedrock.send(new ConverseStreamCommand({ modelId, messages, toolConfig }));
    let input = '';
    let name;
    for await (const event of stream!) {
      name = event.contentBlockStart?.start?.toolUse?.name ?? name;
      input += event.contentBlockDelta?.delta?.toolUse?.input ?? '';
    }
    assert.equal(name, 'get_weather');
    assert.deepEqual(JSON.parse(input), { city: 'sim' });
  });

  test("errors: the SDK raises Bedrock's exception classes from the simulator's answers, in and out of streams", async () => {
    const cases: Array<[Parameters<Simulator['script']>[0], abstract new (...args: never[]) => Error]> = [
      ['rate_limit', ThrottlingException],
      ['unavailable', ServiceUnavailableException],
      ['context_length', ValidationException],
    ];
    for (const [fault, ErrorClass] of cases) {
      sim.script(fault);
      const error = await rejection(bedrock.send(new ConverseCommand({ modelId, messages })));
      assert.ok(error instanceof ErrorClass, `${fault}: ${String(error)}`);
    }
    sim.script('stream_error');
    const { stream } = await bedrock.send(new ConverseStreamCommand({ modelId, messages }));
    const error = await rejection(
      (async () => {
        for await (const _event of stream!);
      })(),
    );
    assert.ok(error instanceof ServiceUnavailableException, String(error));
  });
});
