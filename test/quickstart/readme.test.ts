import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import OpenAI from 'openai';

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };
const blocks = [...readme.matchAll(/```(sh|ts)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, code: m[2]!.trim() }));

test('the README quickstart: `npm ci && npm start`, then `npm test`, which .ci/run calls', () => {
  const commands = blocks.filter((b) => b.lang === 'sh').map((b) => b.code);
  assert.equal(commands[0], 'npm ci && npm start');
  assert.ok(commands.includes('npm test'));
  assert.ok(pkg.scripts['start'] && pkg.scripts['test']);
  assert.match(readFileSync(new URL('.ci/run', root), 'utf8'), /\bnpm test\b/);
});

test('`npm start` serves the demo gateway; the README curl and openai snippet work against it', async () => {
  // Its own process group, so the gateway under npm is stopped with it (npm does not forward SIGTERM).
  const child = spawn('npm', ['start', '--silent'], {
    cwd: root,
    env: { ...process.env, PORT: '0', OPENAI_API_KEY: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  try {
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening on (http:\/\/[^\s]+)/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`npm start exited (${code}): ${out}`)));
    });
    // The README's curl, with the port the test got.
    const curl = blocks
      .find((b) => b.lang === 'sh' && b.code.startsWith('curl'))!
      .code.replace('http://127.0.0.1:8080', address);
    const run = spawnSync('sh', ['-c', curl], { encoding: 'utf8', timeout: 30_000 });
    assert.match(run.stdout, /HTTP\/1\.1 200/);
    assert.match(run.stdout, /x-breakwater-target: /);
    assert.match(run.stdout, /"role":"assistant"/);
    // The README's openai snippet, as written but for the address.
    const snippet = blocks.find((b) => b.lang === 'ts' && b.code.includes("from 'openai'"))!.code;
    assert.match(snippet, /baseURL: 'http:\/\/127\.0\.0\.1:8080\/v1'/);
    const client = new OpenAI({ baseURL: `${address}/v1`, apiKey: 'unused-in-demo' });
    for (let i = 0; i < 5; i++) {
      const reply = await client.chat.completions.create({
        model: 'demo-model',
        messages: [{ role: 'user', content: 'hi' }],
      });
      assert.equal(reply.choices[0]?.message.role, 'assistant');
    }
    // demo-cross: whichever protocol answered (the flaky OpenAI one, Anthropic's or Gemini's), the
    // client gets OpenAI's shape.
    const targets = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const { data, response } = await client.chat.completions
        .create({ model: 'demo-cross', messages: [{ role: 'user', content: 'hi' }], stream: false })
        .withResponse();
      assert.equal(data.choices[0]?.message.role, 'assistant');
      targets.add(response.headers.get('x-breakwater-target') ?? '');
    }
    assert.ok(
      [...targets].every((t) => /^(flaky:sim-small|claude-sim:claude-sim|gemini-sim:gemini-sim)$/.test(t)),
      [...targets].join(),
    );
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
  }
});

test('examples/quickstart.ts: a retried rate limit and an unretried quota error', () => {
  const file = new URL('examples/quickstart.ts', root).pathname;
  const run = spawnSync(process.execPath, ['--conditions=breakwater-source', '--import', 'tsx', file], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /attempt 1: LLM_RATE_LIMITED .*retryable true, retry after 300 ms/);
  assert.match(run.stdout, /attempt 2: ok/);
  assert.match(run.stdout, /attempt 1: LLM_QUOTA_EXCEEDED .*retryable false/);
  assert.match(run.stdout, /received 3 requests/);
});
