import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkQueue } from './chunk-queue.js';

const bytes = (text: string) => Buffer.from(text);
const text = (result: IteratorResult<Uint8Array>) => (result.done ? 'END' : Buffer.from(result.value).toString());

test('chunks in order, those waiting at once and the next when it comes, then the end', async () => {
  const chunks = new ChunkQueue(() => {});
  chunks.push(bytes('a'));
  chunks.push(bytes('b'));
  assert.equal(text(await chunks.next()), 'a');
  assert.equal(text(await chunks.next()), 'b');
  const later = chunks.next();
  chunks.push(bytes('c'));
  chunks.end();
  assert.equal(text(await later), 'c');
  assert.equal(text(await chunks.next()), 'END');
  assert.equal(text(await chunks.next()), 'END');
});

test('a body read ahead of its reader pauses the upstream, resumed as the reader catches up', async () => {
  let resumed = 0;
  const chunks = new ChunkQueue(() => resumed++);
  const answers: boolean[] = [];
  for (let i = 0; i < 40; i++) answers.push(chunks.push(bytes(String(i % 10))));
  assert.equal(answers.indexOf(false), 15, 'the sixteenth unread chunk asks the upstream to pause');
  let read = '';
  for (let i = 0; i < 40; i++) read += text(await chunks.next());
  assert.equal(read, '0123456789'.repeat(4));
  assert.equal(resumed, 1, 'resumed once, when half the read-ahead was taken');
});

test('an error reaches the reader waiting, and every read after it; the first end or error wins', async () => {
  const chunks = new ChunkQueue(() => {});
  const waiting = chunks.next();
  chunks.fail(new Error('socket hang up'));
  chunks.end();
  chunks.fail(new Error('later'));
  await assert.rejects(waiting, /socket hang up/);
  await assert.rejects(chunks.next(), /socket hang up/);
});

test('chunks that came before an error are read before it', async () => {
  const chunks = new ChunkQueue(() => {});
  chunks.push(bytes('a'));
  chunks.fail(new Error('cut'));
  assert.equal(text(await chunks.next()), 'a');
  await assert.rejects(chunks.next(), /cut/);
});
