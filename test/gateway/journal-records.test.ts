import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import pino from 'pino';
import { breakwaterPinoOptions } from 'breakwater/pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';
import { eventually } from '../support/wait-for.js';

// What an operation records, as an operator reads it after an incident: the attempt trail, the
// usage and cost of the answer, and — by the content policy — what is (not) kept of the conversation.
const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'bw-records-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const messages = [{ role: 'user' as const, content: 'hello' }];

describe('the attempt trail, usage and cost', () => {
  let primary: Simulator;
  let backup: Simulator;
  let gateway: Gateway;
  let client: OpenAI;
  let base: string;
  const file = join(dir, 'trail.db');
  before(async () => {
    primary = await startSimulator({ tokenDelayMs: 1 });
    backup = await startSimulator({ tokenDelayMs: 1 });
    gateway = await createGateway(
      parseConfig({
        providers: { p: { baseUrl: primary.url }, b: { baseUrl: backup.url } },
        routes: {
          r: {
            targets: [
              { provider: 'p', model: 'm' },
              { provider: 'b', model: 'm' },
            ],
            retry: { maxAttempts: 2 },
          },
        },
        prices: { 'b:m': { inputPerMillion: 2, outputPerMillion: 8 } },
        journal: { sqlite: file },
        retryBudget: { ratio: 1, minPerSecond: 100 },
      }),
      { env: {}, logger: pino({ level: 'silent' }) },
    );
    base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
    client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await gateway.close();
    await primary.close();
    await backup.close();
  });

  test('failed twice, then the fallback: `ops show` prints three attempts in order, with their categories, and the cost', async () => {
    primary.script('server_error', 'overloaded');
    const { response } = await client.chat.completions.create({ model: 'r', messages }).withResponse();
    // The answer goes out before its terminal write: wait for that write.
    const [row] = await eventually(
      () => gateway.journal.query({ correlationId: response.headers.get('x-request-id')! }),
      (rows) => rows[0]?.status === 'succeeded',
      'the operation recorded',
    );
    const id = row!.id;
    const tsx = import.meta.resolve('tsx');
    const shown = spawnSync(
      process.execPath,
      [
        '--conditions=breakwater-source',
        '--import',
        tsx,
        join(ROOT, 'packages/gateway/src/cli/main.ts'),
        'ops',
        'show',
        id,
        '--journal',
        file,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(shown.status, 0, shown.stderr);
    const attempts = shown.stdout.split('\n').filter((l) => /^\s+\+\s*\d+ ms/.test(l));
    assert.equal(attempts.length, 3, shown.stdout);
    assert.match(
      attempts[0]!,
      /p:m\s+#1\s+failed LLM_SERVER_ERROR \(upstream_server\).*breaker closed, retry in \d+ ms \(backoff\)/,
    );
    assert.match(attempts[1]!, /p:m\s+#2\s+failed LLM_OVERLOADED \(overloaded\)/);
    assert.match(attempts[2]!, /b:m\s+#1\s+answered/);
    // The simulator's usage (12 prompt + 11 completion) at 2 and 8 per million.
    assert.match(shown.stdout, /usage \{"prompt_tokens":12,"completion_tokens":11,"total_tokens":23\}, cost 0\.000112/);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /breakwater_gateway_tokens_total\{route="r",target="b:m",kind="completion"\} 11/);
    assert.match(metrics, /breakwater_gateway_cost_total\{route="r",target="b:m"\} 0\.000112/);
  });

  test("a stream's usage comes from its final chunk, asked for even when the client did not (and not forwarded)", async () => {
    const response = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'stream-usage' },
      body: JSON.stringify({ model: 'r', stream: true, messages }),
    });
    const text = await response.text();
    assert.match(text, /data: \[DONE\]/);
    assert.ok(!text.includes('"usage"'), 'the client did not ask for usage: none forwarded');
    // The operation is finished right after the stream's last byte: wait for that write.
    const [row] = await eventually(
      () => gateway.journal.query({ correlationId: 'stream-usage' }),
      (rows) => rows[0]?.status === 'succeeded',
      'the stream operation recorded',
    );
    assert.equal((row?.result as { usage: { prompt_tokens: number } }).usage.prompt_tokens, 12);
  });
});

describe('the content policy: what is kept of prompts and answers', () => {
  const PROMPT_SECRET = 'sk-proj-promptSECRETabcdef0123456789';
  const ANSWER_SECRET = 'sk-proj-answerSECRETabcdef0123456789';
  const ADMIN = 'admin-key-content-policy';
  for (const content of ['none', 'redacted', 'full'] as const) {
    test(`content: ${content}`, async () => {
      const simulator = await startSimulator({
        tokenDelayMs: 1,
        replyText: `the key is ${ANSWER_SECRET} and more words here`,
        chunksBeforeFault: 6,
      });
      const logs: string[] = [];
      const gateway = await createGateway(
        parseConfig({
          providers: { p: { baseUrl: simulator.url } },
          routes: { r: { targets: [{ provider: 'p', model: 'm' }] } },
          admin: { keySha256: createHash('sha256').update(ADMIN).digest('hex') },
          journal: { memory: true, content },
        }),
        {
          env: {},
          logger: pino(
            { ...breakwaterPinoOptions(), level: 'debug' },
            new Writable({ write: (c, _e, done) => (logs.push(String(c)), done()) }),
          ),
        },
      );
      const base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
      try {
        simulator.script('cut_stream');
        const response = await fetch(`${base}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': `policy-${content}` },
          body: JSON.stringify({
            model: 'r',
            stream: true,
            messages: [{ role: 'user', content: `use ${PROMPT_SECRET}` }],
          }),
        });
        assert.match(
          await response.text(),
          new RegExp(ANSWER_SECRET),
          'the client itself gets the answer as the model wrote it',
        );
        const [row] = await gateway.journal.query({ correlationId: `policy-${content}` });
        const admin = await (
          await fetch(`${base}/admin/operations/${row!.id}`, { headers: { 'x-admin-key': ADMIN } })
        ).text();
        for (const [where, text] of [
          ['row', JSON.stringify(row)],
          ['admin API', admin],
          ['logs', logs.join('')],
        ] as const) {
          assert.ok(
            !text.includes(PROMPT_SECRET) && !text.includes(ANSWER_SECRET),
            `${content}: a secret in the ${where}`,
          );
        }
        const result = row!.result as { content?: string; timeline: unknown[] };
        const metadata = row!.metadata as { messages?: unknown };
        assert.ok(Array.isArray(result.timeline), 'the attempt trail is kept under every policy');
        assert.equal(result.content === undefined, content === 'none', `${content}: the partial answer`);
        if (result.content) assert.match(result.content, /the key is \[REDACTED\]/);
        assert.equal(metadata.messages === undefined, content !== 'full', `${content}: the prompt`);
      } finally {
        await gateway.close();
        await simulator.close();
      }
    });
  }
});
