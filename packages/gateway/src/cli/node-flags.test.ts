import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SERVER_V8_FLAGS, workerExecArgv } from './node-flags.js';

test("a worker gets the server's young-generation size after the primary's own flags", () => {
  assert.deepEqual(workerExecArgv(['--enable-source-maps']), ['--enable-source-maps', ...SERVER_V8_FLAGS]);
  assert.deepEqual(workerExecArgv([]), [...SERVER_V8_FLAGS]);
});

test("an operator's own young-generation size is kept, from the flags or from NODE_OPTIONS", () => {
  assert.deepEqual(workerExecArgv(['--max-semi-space-size=8']), ['--max-semi-space-size=8']);
  assert.deepEqual(workerExecArgv(['--max_semi_space_size=8']), ['--max_semi_space_size=8']);
  assert.deepEqual(workerExecArgv([], '--max-old-space-size=512 --max-semi-space-size=16'), []);
  assert.deepEqual(workerExecArgv(['--inspect'], '--min-semi-space-size=4'), ['--inspect']);
  // Other settings in NODE_OPTIONS do not count as a choice.
  assert.deepEqual(workerExecArgv([], '--max-old-space-size=512'), [...SERVER_V8_FLAGS]);
});
