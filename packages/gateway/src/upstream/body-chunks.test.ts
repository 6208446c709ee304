import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { bodyChunks } from './body-chunks.js';

const bytes = (text: string) => Buffer.from(text);
const text = (result: IteratorResult<Uint8Array>) => (result.done ? 'END' : Buffer.from(result.value).toString());

test('chunks in order, those waiting at once and the next when it comes, then the end', async () => {
  const body = new PassThrough();
  const chunks = bodyChunks(body)[Symbol.asyncIterator]();
  body.write(bytes('a'));
  body.write(bytes('b'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(text(await chunks.next()), 'a');
  assert.equal(text(await chunks.next()), 'b');
  const later = chunks.next();
  body.end(bytes('c'));
  assert.equal(text(await later), 'c');
  assert.equal(text(await chunks.next()), 'END');
  assert.equal(text(await chunks.next()), 'END');
});

test('a body read ahead of its reader is paused, and resumed as the reader catches up', async () => {
  const body = new PassThrough({ highWaterMark: 1 });
  const chunks = bodyChunks(body)[Symbol.asyncIterator]();
  for (let i = 0; i < 40; i++) body.write(bytes(String(i % 10)));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(body.isPaused(), true, 'paused once enough is waiting');
  let read = '';
  for (let i = 0; i < 40; i++) read += text(await chunks.next());
  assert.equal(read, '0123456789'.repeat(4));
  assert.equal(body.isPaused(), false);
});

test('an error reaches the reader waiting, and every read after it', async () => {
  const body = new PassThrough();
  const chunks = bodyChunks(body)[Symbol.asyncIterator]();
  const waiting = chunks.next();
  body.destroy(new Error('socket hang up'));
  await assert.rejects(waiting, /socket hang up/);
  await assert.rejects(chunks.next(), /socket hang up/);
});

test('a body destroyed without an error (cut) fails the read instead of leaving it pending', async () => {
  const body = new PassThrough();
  const chunks = bodyChunks(body)[Symbol.asyncIterator]();
  const waiting = chunks.next();
  body.destroy();
  await assert.rejects(waiting, /closed before its end/);
});
