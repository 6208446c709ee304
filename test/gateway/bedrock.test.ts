import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import OpenAI from 'openai';
import pino from 'pino';
import { breakwaterPinoOptions } from 'breakwater/pino';
import { parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway, type Gateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';
import { NodeSha256 } from '../../packages/gateway/src/upstream/bedrock.js';
import { failure, resetSimulators } from '../support/openai-failure.js';

// Amazon Bedrock (Converse, ConverseStream in AWS's binary event stream, SigV4) behind the
// OpenAI-compatible gateway, with the real openai SDK as the client.
const AWS = {
  AWS_ACCESS_KEY_ID: 'AKIABEDROCKE2E00000',
  AWS_SECRET_ACCESS_KEY: 'bedrockE2Esecret/AWSsecretAccessKey0123',
  AWS_SESSION_TOKEN: 'bedrockE2EsessionTOKEN0123456789abcdef',
};
const REPLY = 'Breakwater classifies every failure once and decides by category.';
const MODEL = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
let bedrock: Simulator;
let anthropic: Simulator;
let gateway: Gateway;
let client: OpenAI;
const logs: string[] = [];
const messages = [
  { role: 'system' as const, content: 'Answer briefly.' },
  { role: 'user' as const, content: 'hello' },
];

before(async () => {
  bedrock = await startSimulator({ tokenDelayMs: 1 });
  anthropic = await startSimulator({ tokenDelayMs: 1 });
  const config = parseConfig({
    providers: {
      aws: { kind: 'bedrock', baseUrl: `http://127.0.0.1:${bedrock.port}`, region: 'us-west-2' },
      claude: { kind: 'anthropic', baseUrl: anthropic.url },
    },
    routes: {
      bedrock: { targets: [{ provider: 'aws', model: MODEL }] },
      'claude-then-bedrock': {
        targets: [
          { provider: 'claude', model: 'claude-sonnet-4-5' },
          { provider: 'aws', model: MODEL },
        ],
        retry: { maxAttempts: 1 },
      },
      long: {
        targets: [
          { provider: 'aws', model: MODEL, contextWindow: 200_000 },
          { provider: 'claude', model: 'claude-sonnet-4-5', contextWindow: 1_000_000 },
        ],
      },
    },
    journal: { memory: true, content: 'redacted' },
  });
  const sink = new Writable({ write: (chunk, _e, done) => (logs.push(chunk.toString()), done()) });
  gateway = await createGateway(config, {
    env: AWS,
    logger: pino({ ...breakwaterPinoOptions(), level: 'debug' }, sink),
  });
  const address = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  client = new OpenAI({ baseURL: `${address}/v1`, apiKey: 'unused' });
});
after(async () => {
  await gateway.close();
  await Promise.all([bedrock.close(), anthropic.close()]);
});

const reset = () => resetSimulators(bedrock, anthropic);

describe('Bedrock behind the OpenAI-compatible gateway', () => {
  test('chat: Converse out, OpenAI back; signed with SigV4 for the configured region, the session token sent', async () => {
    reset();
    const { data, response } = await client.chat.completions
      .create({ model: 'bedrock', messages, max_tokens: 50 })
      .withResponse();
    assert.equal(data.choices[0]!.message.content, REPLY);
    assert.equal(data.usage?.total_tokens, 21);
    assert.equal(response.headers.get('x-breakwater-target'), `aws:${MODEL}`);
    assert.deepEqual(Object.keys(bedrock.stats().byPath), [`/model/${encodeURIComponent(MODEL)}/converse`]);
    assert.match(
      bedrock.stats().authorizations[0]!,
      /^AWS4-HMAC-SHA256 Credential=AKIABEDROCKE2E00000\/\d{8}\/us-west-2\/bedrock\/aws4_request, SignedHeaders=[a-z0-9;-]*x-amz-security-token[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    const body = bedrock.stats().lastBodies.at(-1) as Record<string, unknown>;
    assert.deepEqual(body['system'], [{ text: 'Answer briefly.' }]);
    assert.deepEqual(body['messages'], [{ role: 'user', content: [{ text: 'hello' }] }]);
    assert.deepEqual(body['inferenceConfig'], { maxTokens: 50 });
  });

  test('streaming and tool calls through the binary event stream', async () => {
    reset();
    let text = '';
    let usage;
    for await (const chunk of await client.chat.completions.create({
      model: 'bedrock',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    })) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    assert.equal(text, REPLY);
    assert.ok(usage?.completion_tokens);
    const tools = [
      {
        type: 'function' as const,
        function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
      },
    ];
    let args = '';
    let name;
    let finish;
    for await (const chunk of await client.chat.completions.create({
      model: 'bedrock',
      messages,
      tools,
      stream: true,
    })) {
      const call = chunk.choices[0]?.delta.tool_calls?.[0];
      name = call?.function?.name ?? name;
      args += call?.function?.arguments ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(name, 'get_weather');
    assert.deepEqual(JSON.parse(args), { city: 'sim' });
    assert.equal(finish, 'tool_calls');
  });

  test('Anthropic 529 → Bedrock answers; a Bedrock token limit moves to the larger window; a stream exception ends in an SSE error', async () => {
    reset();
    anthropic.script('overloaded');
    const fallback = await client.chat.completions.create({ model: 'claude-then-bedrock', messages }).withResponse();
    assert.equal(fallback.response.headers.get('x-breakwater-target'), `aws:${MODEL}`);
    bedrock.script('context_length');
    const larger = await client.chat.completions.create({ model: 'long', messages }).withResponse();
    assert.equal(larger.response.headers.get('x-breakwater-target'), 'claude:claude-sonnet-4-5');
    bedrock.script('stream_error');
    const stream = await client.chat.completions.create({ model: 'bedrock', messages, stream: true });
    const error = await failure(
      (async () => {
        for await (const _chunk of stream);
      })(),
    );
    assert.match(error.message, /overloaded/i);
    const [row] = await gateway.journal.query({ kind: 'chat.completions', limit: 1 });
    assert.equal(row?.errorCode, 'LLM_OVERLOADED');
  });

  test('the AWS secret and session token never leave: not in responses, logs or journal rows, even when echoed', async () => {
    reset();
    bedrock.script('unauthorized');
    const refused = await failure(client.chat.completions.create({ model: 'bedrock', messages }));
    assert.match(refused.message, /gateway's own credentials/);
    const everything =
      JSON.stringify(await gateway.journal.query({ limit: 1_000 })) + logs.join('') + JSON.stringify(refused.error);
    assert.ok(everything.length > 1_000);
    for (const secret of [AWS.AWS_SECRET_ACCESS_KEY, AWS.AWS_SESSION_TOKEN]) assert.ok(!everything.includes(secret));
  });
});

test("the signature verifies: a server recomputes it with the AWS SDK's signer from what arrived", async () => {
  const received: Array<{ req: IncomingMessage; body: string }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ req, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          output: { message: { role: 'assistant', content: [{ text: 'ok' }] } },
          stopReason: 'end_turn',
          usage: {},
        }),
      );
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  const signed = await createGateway(
    parseConfig({
      providers: { aws: { kind: 'bedrock', baseUrl: `http://127.0.0.1:${port}`, region: 'eu-central-1' } },
      routes: { b: { targets: [{ provider: 'aws', model: MODEL }] } },
      journal: { memory: true },
    }),
    { env: AWS, logger: pino({ level: 'silent' }) },
  );
  try {
    const address = await signed.app.listen({ port: 0, host: '127.0.0.1' });
    await new OpenAI({ baseURL: `${address}/v1`, apiKey: 'x' }).chat.completions.create({ model: 'b', messages });
    const { req, body } = received[0]!;
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    const signedHeaders = /SignedHeaders=([^,]+)/.exec(headers['authorization']!)![1]!.split(';');
    const date = headers['x-amz-date']!;
    const signer = new SignatureV4({
      credentials: {
        accessKeyId: AWS.AWS_ACCESS_KEY_ID,
        secretAccessKey: AWS.AWS_SECRET_ACCESS_KEY,
        sessionToken: AWS.AWS_SESSION_TOKEN,
      },
      region: 'eu-central-1',
      service: 'bedrock',
      sha256: NodeSha256,
    });
    const resigned = await signer.sign(
      {
        method: req.method!,
        protocol: 'http:',
        hostname: '127.0.0.1',
        port,
        path: req.url!,
        query: {},
        headers: Object.fromEntries(signedHeaders.map((name) => [name, headers[name]!])),
        body,
      },
      {
        signingDate: new Date(
          `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 11)}:${date.slice(11, 13)}:${date.slice(13)}`,
        ),
      },
    );
    assert.equal(resigned.headers['authorization'], headers['authorization']);
  } finally {
    await signed.close();
    server.close();
  }
});

test('without AWS credentials (or an API key) a Bedrock provider refuses to start, naming the variables', async () => {
  await assert.rejects(
    createGateway(
      parseConfig({
        providers: { aws: { kind: 'bedrock', baseUrl: 'https://bedrock-runtime.us-east-1.amazonaws.com' } },
        routes: { b: { targets: [{ provider: 'aws', model: MODEL }] } },
        journal: { memory: true },
      }),
      { env: {}, logger: pino({ level: 'silent' }) },
    ),
    /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
  );
});
