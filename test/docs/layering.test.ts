import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

// The folders are the architecture (docs/architecture.md): each imports only folders below it.
const SRC = resolve(import.meta.dirname, '../../packages/breakwater/src');
const RANK: Record<string, number> = {
  common: 0,
  redact: 1,
  correlation: 1,
  errors: 2,
  classify: 3,
  policies: 4,
  journal: 5,
  agent: 6,
  batch: 6,
  observe: 7,
  http: 8,
  testing: 8,
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

test('every folder of the library imports only the folders below it', () => {
  const upward: string[] = [];
  for (const file of sources(SRC)) {
    const folder = relative(SRC, file).split('/')[0]!;
    if (!(folder in RANK)) continue; // index.ts: the root entry re-exports from everywhere
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const target = relative(SRC, resolve(dirname(file), specifier!)).split('/')[0]!;
      if (target !== folder && !(RANK[target]! < RANK[folder]!)) upward.push(`${relative(SRC, file)} → ${target}`);
    }
  }
  assert.deepEqual(upward, [], `imports against the layering:\n${upward.join('\n')}`);
  assert.deepEqual(
    readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory() && !(name in RANK)),
    [],
    'a new folder gets its place in the layering (here and in docs/architecture.md)',
  );
});
