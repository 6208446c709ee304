import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { configJsonSchema, loadConfig, parseConfig } from '../../packages/gateway/src/config/load.js';
import { createGateway } from '../../packages/gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../../packages/gateway/src/simulator/simulator.js';
import { freePort } from '../support/free-port.js';

// The command line as an operator uses it: user errors are one line and exit 2, signals do what
// the help says, and the configuration can be checked before it is deployed.
const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'packages/gateway/src/cli/main.ts');
const EXAMPLE = join(ROOT, 'packages/gateway/breakwater.example.yaml');
const dir = mkdtempSync(join(tmpdir(), 'bw-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * One run of the CLI from source. Asynchronous, so independent runs can overlap: each spends a
 * second or two compiling the gateway through tsx, and run one by one they were half a minute.
 */
function cli(args: string[], env: Record<string, string> = {}) {
  // A bound against a hang, not a measure: a dozen of them compile side by side on two cores.
  const child = spawnCli(args, env, 60_000);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** The CLI from source in its own process, in the test's empty folder. */
function spawnCli(args: string[], env: Record<string, string> = {}, timeout?: number) {
  // tsx resolved here: the CLI runs in an empty folder, where `--import tsx` would not be found.
  const tsx = import.meta.resolve('tsx');
  return spawn(process.execPath, ['--conditions=breakwater-source', '--import', tsx, MAIN, ...args], {
    cwd: dir,
    env: { ...process.env, OPENAI_API_KEY: '', ...env },
    ...(timeout === undefined ? {} : { timeout }),
  });
}

describe('user errors: one line naming the fix, exit 2, no stack trace', () => {
  let busy: ReturnType<typeof createServer>;
  let busyPort: number;
  before(async () => {
    busy = createServer();
    await new Promise<void>((done) => busy.listen(0, '127.0.0.1', done));
    busyPort = (busy.address() as { port: number }).port;
  });
  after(() => busy.close());

  test('each mistake', async () => {
    writeFileSync(join(dir, 'typo.yaml'), 'providers: {}\nroutes: {}\nrouts: {}\n');
    const cases: Array<[string[], RegExp]> = [
      [['--bogus'], /unknown option --bogus/],
      [['frob'], /unknown command "frob"/],
      [['serve', '--port', 'abc'], /--port "abc": expected a whole number/],
      [['serve', '--config', 'missing.yaml'], /missing\.yaml: the file does not exist/],
      [['serve', '--config', 'typo.yaml'], /unknown key\(s\) "routs"/],
      [['serve', '--demo', '--port', String(busyPort)], /port is already in use/],
      [['ops', 'show'], /which operation\? pass its id/],
      [['ops', 'frob'], /expected "ops list" or "ops show ID"/],
      [['ops', 'list', '--journal', 'none.db'], /no journal at none\.db/],
      [['config', 'check'], /config check FILE/],
      [['simulate', '--rate', 'nope=2'], /--rate nope=2: expected FAULT=P/],
      [['simulate', '--reply', ' '], /--reply: expected the answer's text/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli(args)));
    for (const [i, [args, message]] of cases.entries()) {
      const { code, stderr } = runs[i]!;
      assert.equal(code, 2, `${args.join(' ')}: exit ${code}, ${stderr}`);
      assert.match(stderr, message, args.join(' '));
      assert.ok(!stderr.includes('    at '), `${args.join(' ')} printed a stack: ${stderr}`);
      assert.equal(stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line`);
    }
  });

  test('a key in the shell and no config: a clear choice, and --demo runs the demo anyway', async () => {
    const { code, stderr } = await cli(['serve'], { OPENAI_API_KEY: 'sk-something' });
    assert.equal(code, 2);
    assert.match(stderr, /pass --config FILE .* or --demo/);
  });

  test('--version and --help', async () => {
    const version = JSON.parse(readFileSync(join(ROOT, 'packages/gateway/package.json'), 'utf8')).version;
    const [shown, help] = await Promise.all([cli(['--version']), cli(['--help'])]);
    assert.equal(shown.stdout.trim(), version);
    assert.match(help.stdout, /breakwater config check FILE/);
  });
});

test('simulate --reply: the simulated upstream answers with that text, streamed a word per chunk', async () => {
  const port = await freePort();
  const child = spawnCli(['simulate', '--port', String(port), '--reply', 'one two three']);
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  try {
    for (let i = 0; i < 600 && !out.includes('simulated upstream on'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /simulated upstream on/);
    const ask = (stream: boolean) =>
      fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'x', stream, messages: [{ role: 'user', content: 'hi' }] }),
      });
    const answer = (await (await ask(false)).json()) as { choices: Array<{ message: { content: string } }> };
    assert.equal(answer.choices[0]!.message.content, 'one two three');
    const words = [...(await (await ask(true)).text()).matchAll(/"content":"([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(words, ['one ', 'two ', 'three']);
  } finally {
    child.kill('SIGKILL');
  }
});

describe('configuration operators can trust', () => {
  test('the commented example loads, and `config check` prints its resolved routes', async () => {
    const config = loadConfig(EXAMPLE, { env: {} });
    assert.ok(config.routes['fast']);
    const { code, stdout } = await cli(['config', 'check', EXAMPLE]);
    assert.equal(code, 0);
    assert.match(stdout, /fast: openai:gpt-4o-mini → openrouter:/);
  });

  test('the JSON Schema validates the example and rejects a typo', async () => {
    const { code, stdout } = await cli(['config', 'schema']);
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), configJsonSchema());
    const validate = new Ajv2020({ strict: false }).compile(JSON.parse(stdout) as object);
    const example = parseYaml(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
    assert.ok(validate(example), JSON.stringify(validate.errors));
    assert.equal(validate({ ...example, routs: {} }), false);
    assert.equal(validate({ ...example, server: { ...(example['server'] as object), prot: 1 } }), false);
  });

  test('${VAR} is interpolated; a missing one is an error naming it', () => {
    const input = {
      providers: { p: { baseUrl: '${BASE}', headers: { 'api-key': '${AZURE_KEY}' } } },
      routes: { m: { targets: [{ provider: 'p', model: 'x' }] } },
    };
    const config = parseConfig(input, 'inline', {
      env: { BASE: 'http://127.0.0.1:9/v1', AZURE_KEY: 'azure-secret-123' },
    });
    assert.equal(config.providers['p']!.baseUrl, 'http://127.0.0.1:9/v1');
    assert.throws(
      () => parseConfig(input, 'inline', { env: { BASE: 'http://x/v1' } }),
      /providers\.p\.headers\.api-key: \$\{AZURE_KEY\} is not set/,
    );
  });

  test('a named but unset key refuses to start; apiKeyOptional starts with the upstream unready', async () => {
    const base = { routes: { m: { targets: [{ provider: 'p', model: 'x' }] } }, journal: { memory: true } };
    await assert.rejects(
      createGateway(
        parseConfig({ ...base, providers: { p: { baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnv: 'UNSET_KEY' } } }),
        { env: {} },
      ),
      /providers\.p\.apiKeyEnv: UNSET_KEY is not set/,
    );
    const gateway = await createGateway(
      parseConfig({
        ...base,
        providers: { p: { baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnv: 'UNSET_KEY', apiKeyOptional: true } },
      }),
      { env: {} },
    );
    try {
      const ready = await gateway.app.inject({ url: '/health/ready' });
      const report = ready.json() as { status: string; checks: Record<string, Array<{ status: string }>> };
      assert.equal(report.checks['upstream:p:x:responsiveness']?.[0]?.status, 'fail');
    } finally {
      await gateway.close();
    }
  });

  test('static provider headers reach the upstream and are redacted like keys', async () => {
    const simulator = await startSimulator();
    const logs: string[] = [];
    const { Writable } = await import('node:stream');
    const pino = (await import('pino')).default;
    const gateway = await createGateway(
      parseConfig({
        providers: { p: { baseUrl: simulator.url, headers: { 'api-key': 'azure-header-secret-987' } } },
        routes: { m: { targets: [{ provider: 'p', model: 'x' }] } },
        journal: { memory: true },
      }),
      {
        env: {},
        logger: pino({ level: 'debug' }, new Writable({ write: (c, _e, done) => (logs.push(String(c)), done()) })),
      },
    );
    try {
      simulator.script('unauthorized');
      const response = await gateway.app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        payload: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
      });
      assert.equal(response.statusCode, 502);
      assert.ok(!response.body.includes('azure-header-secret-987'));
      assert.ok(logs.length > 0 && !logs.join('').includes('azure-header-secret-987'));
    } finally {
      await gateway.close();
      await simulator.close();
    }
  });
});

describe('signals reach the gateway that `npm start` started', () => {
  let simulator: Simulator;
  before(async () => {
    simulator = await startSimulator({ tokenDelayMs: 60 });
  });
  after(() => simulator.close());

  test('SIGHUP reloads the config; SIGTERM drains an in-flight stream and exits 0', async () => {
    const file = join(dir, 'signals.yaml');
    const config = (alias: string) =>
      `server: { port: 0 }\nproviders: { sim: { baseUrl: "${simulator.url}" } }\nroutes: { ${alias}: { targets: [{ provider: sim, model: x }] } }\njournal: { memory: true }\n`;
    writeFileSync(file, config('first'));
    const child = spawn('npm', ['start', '--silent', '--', '--config', file], {
      cwd: ROOT,
      env: { ...process.env, OPENAI_API_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    const waitFor = async (pattern: RegExp) => {
      for (let i = 0; i < 300 && !pattern.test(out); i++) await new Promise((r) => setTimeout(r, 50));
      const match = pattern.exec(out);
      assert.ok(match, `never printed ${pattern}: ${out}`);
      return match;
    };
    // npm's child: killed too if the test fails, or it would keep the test file running.
    let pid: string | undefined;
    try {
      let address: string | undefined;
      [, address, pid] = (await waitFor(/listening on (http:\/\/\S+) \(pid (\d+)/))!;
      // `npm start` passes the young-generation size; GC threading is for a small machine only.
      // The tip is printed before the listening line: it is in `out` by now if it was printed at all.
      if (availableParallelism() <= 2) assert.match(out, /tip: start with NODE_OPTIONS="--single-threaded-gc"/);
      else assert.doesNotMatch(out, /tip:/);
      writeFileSync(file, config('second'));
      process.kill(Number(pid), 'SIGHUP');
      await waitFor(/configuration reloaded/);
      const models = (await (await fetch(`${address}/v1/models`)).json()) as { data: Array<{ id: string }> };
      assert.deepEqual(
        models.data.map((m) => m.id),
        ['second'],
      );

      const stream = await fetch(`${address}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'second', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const text = stream.text();
      process.kill(Number(pid), 'SIGTERM');
      assert.match(await text, /data: \[DONE\]\n\n$/, 'the stream in flight completed');
      const code = await new Promise<number | null>((done) => child.on('exit', done));
      assert.equal(code, 0, out);
      assert.match(out, /SIGTERM: draining/);
    } finally {
      child.kill('SIGKILL');
      if (pid) killQuietly(Number(pid));
    }
  });
});

test('ops finds the operation behind an error response by its correlation id', async () => {
  const { Journal, runOperation } = await import('breakwater');
  const { openSqliteJournalStore } = await import('breakwater/journal-sqlite');
  const file = join(dir, 'ops.db');
  const journal = new Journal({ store: await openSqliteJournalStore(file) });
  await runOperation(journal, 'chat.completions', async () => 'ok', { correlationId: 'corr-ok' });
  await runOperation(
    journal,
    'chat.completions',
    async () => Promise.reject(Object.assign(new Error('x'), { status: 500, headers: {} })),
    {
      correlationId: 'corr-failed',
    },
  ).catch(() => undefined);
  await journal.close();
  const [listed, succeeded, bad] = await Promise.all([
    cli(['ops', 'list', '--journal', file, '--correlation', 'corr-failed']),
    cli(['ops', 'list', '--journal', file, '--status', 'succeeded', '--since', '1h']),
    cli(['ops', 'list', '--journal', file, '--status', 'bogus']),
  ]);
  assert.equal(listed.code, 0, listed.stderr);
  const lines = listed.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /failed .* UPSTREAM_SERVER_ERROR .* corr-failed$/);
  const id = lines[0]!.split(/\s+/)[0]!;
  const shown = await cli(['ops', 'show', id, '--journal', file, '--json']);
  assert.equal(JSON.parse(shown.stdout).correlationId, 'corr-failed');
  assert.equal(succeeded.stdout.trim().split('\n').length, 1);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--status "bogus": expected one of/);
});

/** SIGKILL, for cleanup: a process that is gone already is fine. */
function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // exited already
  }
}
