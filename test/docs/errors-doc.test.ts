import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderErrorDocs } from '../../scripts/error-docs.js';

test('docs/errors.md is generated from the code and up to date (run `npm run docs:errors`)', () => {
  const onDisk = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  assert.equal(onDisk, renderErrorDocs());
});
