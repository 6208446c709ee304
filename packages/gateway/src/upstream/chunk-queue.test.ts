import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
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

test('any interleaving of pushes, reads, an end or a failure: every chunk once and in order, then the first end or failure', async () => {
  const step = fc.oneof(
    fc.record({ op: fc.constant('push' as const), n: fc.integer({ min: 1, max: 20 }) }),
    fc.record({ op: fc.constant('read' as const), n: fc.integer({ min: 1, max: 20 }) }),
    fc.record({ op: fc.constantFrom('end' as const, 'fail' as const) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 30 }), async (steps) => {
      let paused = false;
      const chunks = new ChunkQueue(() => {
        assert.equal(paused, true, 'resumed only when paused');
        paused = false;
      });
      let sent = 0;
      let settled: 'end' | 'fail' | undefined;
      const received: string[] = [];
      // One reader, as the StreamReader is: a read waits for the one before it.
      let waiting: Promise<void> | undefined;
      const readOne = (): Promise<void> =>
        chunks.next().then(
          (result) => void received.push(result.done ? 'END' : text(result)),
          (error: Error) => void received.push(error.message),
        );
      const available = (): boolean => settled !== undefined || sent > received.length;
      for (const s of steps) {
        if (s.op === 'push' && !settled)
          for (let i = 0; i < s.n && !paused; i++) if (!chunks.push(bytes(String(sent++)))) paused = true;
        if (s.op === 'read')
          for (let i = 0; i < s.n; i++) {
            if (waiting && !available()) break;
            await waiting;
            waiting = undefined;
            if (available()) await readOne();
            else {
              waiting = readOne();
              break;
            }
          }
        if (s.op === 'end' || s.op === 'fail') {
          settled ??= s.op;
          if (s.op === 'end') chunks.end();
          else chunks.fail(new Error('FAIL'));
        }
      }
      if (!settled) {
        settled = 'end';
        chunks.end();
      }
      await waiting;
      // Every chunk pushed before the end comes out once, in order; then only the first end or failure.
      const data = received.filter((r) => r !== 'END' && r !== 'FAIL');
      assert.deepEqual(
        data,
        data.map((_, i) => String(i)),
      );
      const after = received.slice(data.length);
      assert.ok(after.every((r) => r === (settled === 'fail' ? 'FAIL' : 'END')));
      if (after.length > 0) assert.equal(data.length, sent, 'every chunk pushed is read before the end or failure');
    }),
    { numRuns: 300 },
  );
});
