import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

// Docs that run: every ```ts block in the README and docs/ is type-checked as a module of its own,
// unless it is marked ```ts fragment (a piece of a larger program, said so where it stands).
// Every relative link points at a file that exists.
const ROOT = resolve(import.meta.dirname, '../..');
const DOCS = [
  'README.md',
  'packages/gateway/README.md',
  'packages/breakwater/README.md',
  ...readdirSync(join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f)),
];

test('every TypeScript block of the docs type-checks (or is marked as a fragment)', () => {
  const dir = join(ROOT, '.tmp', 'doc-blocks');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const doc of DOCS) {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    [...text.matchAll(/```ts\n([\s\S]*?)```/g)].forEach((match, i) => {
      const file = join(dir, `${doc.replace(/[/.]/g, '_')}_${i}.ts`);
      // Each block is a module; top-level await is allowed, as in an ES module.
      writeFileSync(file, `${match[1]}\nexport {};\n`);
      files.push(file);
    });
  }
  assert.ok(files.length >= 7, `only ${files.length} blocks found`);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../tsconfig.base.json',
      compilerOptions: { noEmit: true, noUnusedLocals: false },
      files: files.map((f) => relative(dir, f)),
    }),
  );
  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(tsc.status, 0, tsc.stdout.split('\n').slice(0, 40).join('\n'));
});

test('every relative link in the docs points at a file that exists', () => {
  const broken: string[] = [];
  for (const doc of DOCS) {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      if (!existsSync(resolve(ROOT, dirname(doc), target!))) broken.push(`${doc} → ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});
