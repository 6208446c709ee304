import assert from 'node:assert/strict';
import { test } from 'node:test';
import { missingServerFlags, serverV8Flags, workerExecArgv } from './node-flags.js';

const SMALL = serverV8Flags(2);

test('a small machine (one or two cores) also gets GC on the main thread only; a larger one does not', () => {
  assert.deepEqual(serverV8Flags(1), ['--max-semi-space-size=32', '--single-threaded-gc']);
  assert.deepEqual(SMALL, ['--max-semi-space-size=32', '--single-threaded-gc']);
  assert.deepEqual(serverV8Flags(4), ['--max-semi-space-size=64']);
});

test("a worker gets the server's flags after the primary's own", () => {
  assert.deepEqual(workerExecArgv(['--enable-source-maps'], '', SMALL), ['--enable-source-maps', ...SMALL]);
  assert.deepEqual(workerExecArgv([], '', SMALL), [...SMALL]);
  assert.deepEqual(workerExecArgv([], '', serverV8Flags(8)), ['--max-semi-space-size=64']);
});

test("an operator's own young-generation size is kept, from the flags or from NODE_OPTIONS", () => {
  assert.deepEqual(workerExecArgv(['--max-semi-space-size=8'], '', SMALL), [
    '--max-semi-space-size=8',
    '--single-threaded-gc',
  ]);
  assert.deepEqual(workerExecArgv(['--max_semi_space_size=8'], '', SMALL), [
    '--max_semi_space_size=8',
    '--single-threaded-gc',
  ]);
  assert.deepEqual(workerExecArgv([], '--max-old-space-size=512 --max-semi-space-size=16', SMALL), [
    '--single-threaded-gc',
  ]);
  assert.deepEqual(workerExecArgv(['--inspect'], '--min-semi-space-size=4', SMALL), [
    '--inspect',
    '--single-threaded-gc',
  ]);
  // Other settings in NODE_OPTIONS do not count as a choice.
  assert.deepEqual(workerExecArgv([], '--max-old-space-size=512', SMALL), [...SMALL]);
});

test("an operator's own choice of GC threads is kept, either way", () => {
  for (const choice of [
    '--no-single-threaded-gc',
    '--single-threaded-gc',
    '--no-parallel-scavenge',
    '--concurrent-marking',
  ])
    assert.deepEqual(workerExecArgv([choice], '', SMALL), [choice, '--max-semi-space-size=32'], choice);
  assert.deepEqual(workerExecArgv([], '--no-single_threaded_gc', SMALL), ['--max-semi-space-size=32']);
});

test('a lone server is told which flags it lacks: none when it has them all', () => {
  assert.deepEqual(missingServerFlags([], '', SMALL), [...SMALL]);
  assert.deepEqual(missingServerFlags(['--max-semi-space-size=64'], '', SMALL), ['--single-threaded-gc']);
  assert.deepEqual(missingServerFlags([], '--max-semi-space-size=32 --single-threaded-gc', SMALL), []);
});
