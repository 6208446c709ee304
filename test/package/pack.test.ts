import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';

// Both packages as a user gets them: packed (prepack builds dist), installed from the tarballs into
// an empty project, imported from plain Node ESM and from TypeScript,
// and the `breakwater` command run from it. Our packages come from the tarballs; their dependencies from
// npm's cache, or the registry for metadata the cache lacks.
const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'bw-pack-'));
const project = join(dir, 'project');
const tarballs: Record<string, string> = {};

function run(command: string, args: string[], cwd: string, timeout = 180_000) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  assert.equal(result.status, 0, `${command} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

before(() => {
  const packed = JSON.parse(
    run('npm', ['pack', '--json', '--pack-destination', dir, '-w', 'breakwater', '-w', '@breakwater/gateway'], ROOT),
  ) as Array<{ name: string; filename: string; files: Array<{ path: string }> }>;
  for (const entry of packed) tarballs[entry.name] = join(dir, entry.filename);
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // --ignore-scripts: better-sqlite3 would compile for a minute; the repository's build is linked below.
  run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      tarballs['breakwater']!,
      tarballs['@breakwater/gateway']!,
    ],
    project,
  );
  const sqlite = join(project, 'node_modules', 'better-sqlite3');
  rmSync(sqlite, { recursive: true, force: true });
  symlinkSync(join(ROOT, 'node_modules', 'better-sqlite3'), sqlite);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the tarballs ship dist, types, README and LICENSE, and no tests', () => {
  for (const name of ['breakwater', '@breakwater/gateway']) {
    const files = run('tar', ['-tzf', tarballs[name]!], dir).split('\n');
    for (const expected of ['package/README.md', 'package/LICENSE', 'package/package.json'])
      assert.ok(files.includes(expected), `${name} lacks ${expected}`);
    assert.ok(files.some((f) => f.endsWith('dist/index.js')) && files.some((f) => f.endsWith('dist/index.d.ts')), name);
    assert.ok(!files.some((f) => f.endsWith('.test.ts') || f.endsWith('.test.js')), `${name} ships tests`);
  }
});

test('publint and arethetypeswrong find nothing wrong (ESM only)', () => {
  for (const name of ['breakwater', '@breakwater/gateway']) {
    run(
      process.execPath,
      [join(ROOT, 'node_modules/publint/src/cli.js'), join(project, 'node_modules', name), '--strict'],
      ROOT,
    );
    run(join(ROOT, 'node_modules/.bin/attw'), [tarballs[name]!, '--profile', 'esm-only', '--format', 'ascii'], ROOT);
  }
});

test('plain Node ESM imports the library and its subpaths', () => {
  const script = `
    import { classify, pipeline, retry, Errors } from 'breakwater';
    import { RULES } from 'breakwater/rules';
    import { FakeClock } from 'breakwater/testing';
    import { redisState } from 'breakwater/redis';
    import { serveClusterState } from 'breakwater/cluster';
    if (typeof redisState !== 'function' || typeof serveClusterState !== 'function') throw new Error('shared-state subpaths');
    const error = classify(Object.assign(new Error('x'), { status: 429, headers: { 'retry-after': '2' } }));
    const value = await pipeline(retry({ maxAttempts: 2 })).execute(() => 42);
    console.log(JSON.stringify([error.code, error.retryAfterMs, value, typeof RULES.llm, typeof FakeClock, Errors.timeout.code]));
  `;
  writeFileSync(join(project, 'check.mjs'), script);
  assert.equal(
    run(process.execPath, ['check.mjs'], project).trim(),
    JSON.stringify(['UPSTREAM_RATE_LIMITED', 2000, 42, 'object', 'function', 'OPERATION_TIMEOUT']),
  );
});

test('TypeScript type-checks a consumer with moduleResolution node16 and bundler', () => {
  writeFileSync(
    join(project, 'consumer.ts'),
    `import { classify, pipeline, retry, type BreakwaterError } from 'breakwater';
import { breakwaterFastify } from 'breakwater/fastify';
import { createGateway } from '@breakwater/gateway';
const error: BreakwaterError = classify(new Error('x'));
const n: Promise<number> = pipeline(retry()).execute(() => 1);
// @ts-expect-error a string is not a number
const wrong: Promise<number> = pipeline(retry()).execute(() => 'one');
export { error, n, wrong, breakwaterFastify, createGateway };
`,
  );
  for (const [module, resolution] of [
    ['node16', 'node16'],
    ['esnext', 'bundler'],
  ] as const) {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module,
          moduleResolution: resolution,
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['consumer.ts'],
      }),
    );
    run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
  }
});

test('`npx breakwater --version`, and `serve --demo` answers the openai SDK', async () => {
  const version = run('npx', ['--offline', '--no-install', 'breakwater', '--version'], project).trim();
  assert.match(version, /^\d+\.\d+\.\d+/);
  assert.ok(readdirSync(join(project, 'node_modules/@breakwater/gateway/dist/cli')).includes('main.js'));
  const child = spawn('npx', ['--offline', '--no-install', 'breakwater', 'serve', '--demo', '--port', '0'], {
    cwd: project,
    env: { ...process.env, OPENAI_API_KEY: 'sk-in-the-shell-but-demo-asked' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  try {
    const address = await new Promise<string>((done, fail) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match) done(match[1]!);
      });
      child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.once('exit', (code) => fail(new Error(`serve exited (${code}): ${out}`)));
    });
    const client = new OpenAI({ baseURL: `${address}/v1`, apiKey: 'unused-in-demo', maxRetries: 0 });
    const { response } = await client.chat.completions
      .create({ model: 'demo-model', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    assert.equal(response.status, 200);
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
  }
});
