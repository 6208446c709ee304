import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import pg from 'pg';
import { z } from 'zod';
import { type BreakwaterError } from 'breakwater';
import { defineTool, runOpenAIToolCalls } from 'breakwater/agent';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.js';
import { needService, POSTGRES_URL } from '../support/services.js';

// A real agent loop: the openai SDK asks a local "model" for tool calls, breakwater runs the tools,
// and the tool messages go back in the next request. Three tools fail three ways; the loop goes on.
const skip = await needService('postgres');
const SECRET_PASSWORD = 'pg-secret-hunter2-xyz';
let server: ScriptedServer;
let db: pg.Client;
const table = `bw_agent_${process.pid}_${Date.now()}`;

before(async () => {
  if (skip) return;
  server = await startScriptedServer();
  db = new pg.Client({ connectionString: POSTGRES_URL });
  await db.connect();
  await db.query(`CREATE TABLE ${table} (email text PRIMARY KEY)`);
  await db.query(`INSERT INTO ${table} VALUES ('ada@example.com')`);
});
after(async () => {
  if (skip) return;
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.end();
  await server.close();
});

const toolCallCompletion = (calls: Array<{ id: string; name: string; args: string }>) => ({
  id: 'c1',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [
    {
      index: 0,
      finish_reason: 'tool_calls',
      logprobs: null,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.args } })),
      },
    },
  ],
});
const finalCompletion = {
  id: 'c2',
  object: 'chat.completion',
  created: 2,
  model: 'm',
  choices: [
    {
      index: 0,
      finish_reason: 'stop',
      logprobs: null,
      message: { role: 'assistant', content: 'Done, with what I could.', refusal: null },
    },
  ],
};

test(
  'tool failures become structured results the model can act on; no secrets; the loop continues',
  { skip },
  async () => {
    const fullErrors: BreakwaterError[] = [];
    const slowSearch = defineTool({
      name: 'search',
      input: z.object({ query: z.string() }),
      timeoutMs: 50,
      execute: (_input, ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
    });
    const createUser = defineTool({
      name: 'create_user',
      input: z.object({ email: z.string().email() }),
      execute: async ({ email }) => {
        try {
          await db.query(`INSERT INTO ${table} (email) VALUES ($1)`, [email]);
        } catch (error) {
          // Drivers put connection details in messages; breakwater must not pass them to the model.
          (error as Error).message += ` (postgres://app:${SECRET_PASSWORD}@db.internal:5432/app)`;
          throw error;
        }
        return { created: email };
      },
    });
    const weather = defineTool({
      name: 'weather',
      input: z.object({ city: z.string().min(2), days: z.number().int().max(7) }),
      execute: async ({ city }) => ({ city, forecast: 'sun' }),
    });
    for (const tool of [slowSearch, createUser, weather]) tool.events.on('toolError', (e) => fullErrors.push(e.error));

    server.script(
      {
        status: 200,
        body: toolCallCompletion([
          { id: 'call_1', name: 'search', args: '{"query":"breakwater"}' },
          { id: 'call_2', name: 'create_user', args: '{"email":"ada@example.com"}' },
          { id: 'call_3', name: 'weather', args: '{"city":"X","days":30}' },
          { id: 'call_4', name: 'teleport', args: '{}' },
        ]),
      },
      { status: 200, body: finalCompletion },
    );
    const client = new OpenAI({ apiKey: 'sk-test-agentloop-0123456789', baseURL: `${server.url}/v1`, maxRetries: 0 });
    const tools = [slowSearch, createUser, weather];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Do things.' }];
    let answer = '';
    for (let turn = 0; turn < 4; turn++) {
      const completion = await client.chat.completions.create({ model: 'm', messages });
      const message = completion.choices[0]!.message;
      messages.push(message);
      if (!message.tool_calls?.length) {
        answer = message.content ?? '';
        break;
      }
      messages.push(...(await runOpenAIToolCalls(tools, message.tool_calls as never)));
    }

    assert.equal(answer, 'Done, with what I could.', 'the loop reached the final answer');
    const second = JSON.parse(server.received[1]!.body) as {
      messages: Array<{ role: string; tool_call_id?: string; content: string }>;
    };
    const results = Object.fromEntries(
      second.messages.filter((m) => m.role === 'tool').map((m) => [m.tool_call_id, JSON.parse(m.content)]),
    );
    assert.deepEqual(Object.keys(results).sort(), ['call_1', 'call_2', 'call_3', 'call_4']);

    assert.equal(results['call_1'].ok, false);
    assert.equal(results['call_1'].category, 'timeout');
    assert.equal(results['call_1'].retryable, true);
    assert.match(results['call_1'].message, /did not answer in time/);

    assert.equal(results['call_2'].ok, false);
    assert.equal(results['call_2'].code, 'POSTGRES_CONFLICT');
    assert.equal(results['call_2'].retryable, false);
    assert.match(results['call_2'].message, /already exists|conflicts/);

    assert.equal(results['call_3'].ok, false);
    assert.equal(results['call_3'].code, 'VALIDATION_INVALID_INPUT');
    assert.match(results['call_3'].message, /city: /);
    assert.match(results['call_3'].message, /days: /);

    assert.equal(results['call_4'].code, 'TOOL_NOT_FOUND');

    const sentToModel = server.received.map((r) => r.body).join('\n');
    for (const secret of [SECRET_PASSWORD, 'db.internal', 'duplicate key value', 'sk-test-agentloop']) {
      assert.ok(!sentToModel.includes(secret), `${secret} reached the model`);
    }
    assert.ok(
      fullErrors.some((e) => e.category === 'conflict' && (e.cause as Error).message.includes('duplicate key')),
      'the full error still reaches logs and metrics',
    );
  },
);
