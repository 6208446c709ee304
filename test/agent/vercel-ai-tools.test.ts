import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { generateText, stepCountIs, tool } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { z } from 'zod';
import { defineTool } from 'breakwater/agent';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.js';

// The Vercel AI SDK's own tool loop (generateText with tools) using a breakwater tool as `execute`.
let server: ScriptedServer;
before(async () => {
  server = await startScriptedServer();
});
after(() => server.close());

test('a breakwater tool inside Vercel AI SDK tool(): the failure reaches the model as a structured result', async () => {
  const lookup = defineTool({
    name: 'lookup_order',
    input: z.object({ orderId: z.string() }),
    execute: async () => {
      throw Object.assign(new Error('db timeout at 10.0.0.7'), { code: 'ETIMEDOUT' });
    },
  });
  server.script(
    {
      status: 200,
      body: {
        id: 'c1',
        object: 'chat.completion',
        created: 1,
        model: 'm',
        choices: [
          {
            index: 0,
            finish_reason: 'tool_calls',
            message: {
              role: 'assistant',
              content: null,
              tool_calls: [
                { id: 'call_1', type: 'function', function: { name: 'lookup_order', arguments: '{"orderId":"A-1"}' } },
              ],
            },
          },
        ],
      },
    },
    {
      status: 200,
      body: {
        id: 'c2',
        object: 'chat.completion',
        created: 2,
        model: 'm',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Sorry, try later.' } }],
      },
    },
  );
  const model = createOpenAICompatible({ name: 'local', baseURL: `${server.url}/v1`, apiKey: 'k' })('m');
  const result = await generateText({
    model,
    prompt: 'Where is order A-1?',
    maxRetries: 0,
    stopWhen: stepCountIs(3),
    tools: {
      lookup_order: tool({
        description: 'Find an order',
        inputSchema: z.object({ orderId: z.string() }),
        execute: (args) => lookup.run(args),
      }),
    },
  });
  assert.equal(result.text, 'Sorry, try later.');
  const second = server.received[1]!.body;
  assert.match(second, /UPSTREAM_TIMEOUT/);
  assert.match(second, /did not answer in time/);
  assert.ok(!second.includes('10.0.0.7'), 'no internal address reaches the model');
});
