import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createParser } from 'eventsource-parser';
import fc from 'fast-check';
import { SseParser, type SseData } from './sse.js';

// The stream reader splits each read of an upstream body into events synchronously. What it must
// find is what a spec-following parser finds (eventsource-parser, used by the Vercel AI SDK, is the
// oracle): every event's data, in order, whatever the line endings (`\n`, `\r\n`, `\r`), comments and
// other fields, and however the bytes are cut — inside a line, between `\r` and `\n`, inside a UTF-8
// character.

/** Our parser over `chunks`: the events, and what `end()` says. */
function ours(chunks: Uint8Array[]): SseData[] {
  const parser = new SseParser();
  const out: SseData[] = [];
  for (const chunk of chunks) {
    parser.push(chunk, out);
    if (out.some((event) => 'done' in event)) return out;
  }
  parser.end(out);
  return out;
}

/** The oracle: data of every event with data, up to `[DONE]`. */
function oracle(text: string): string[] {
  const data: string[] = [];
  const parser = createParser({ onEvent: (event) => void data.push(event.data) });
  // A last `\r` ends its line at the end of the body; eventsource-parser waits for a `\n` that
  // cannot come (`\r\n` is one line end, so adding it changes nothing else).
  parser.feed(text.endsWith('\r') ? `${text}\n` : text);
  const nonEmpty = data.filter((d) => d !== '');
  const done = nonEmpty.indexOf('[DONE]');
  return done >= 0 ? nonEmpty.slice(0, done + 1) : nonEmpty;
}

/** Cuts `bytes` at the given positions (any byte boundary, UTF-8 characters included). */
function cut(bytes: Uint8Array, at: number[]): Uint8Array[] {
  const points = [...new Set(at.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

const value = fc.string({ unit: fc.constantFrom('a', ' ', ':', '{', '"', 'é', '日', '😀', 'data', '[DONE]', '\t') });
const line = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom('data: ', 'data:'), value).map(([field, v]) => field + v) },
  { weight: 1, arbitrary: value.map((v) => `: ${v}`) },
  { weight: 1, arbitrary: value.map((v) => `event: ${v}`) },
  { weight: 1, arbitrary: fc.constantFrom('id: 7', 'retry: 100', 'data', 'data: [DONE]') },
);
/** Events, each a few lines and a blank line, with line ends drawn from `eol`. */
const streamWith = (eol: fc.Arbitrary<string>) =>
  fc
    .array(fc.tuple(fc.array(fc.tuple(line, eol), { maxLength: 4 }), eol), { maxLength: 8 })
    .map((events) => events.map(([lines, blank]) => lines.map(([l, e]) => l + e).join('') + blank).join(''));
// `\n` and `\r\n` mix freely; a lone `\r` followed by `\n` would be one `\r\n`, so CR streams are their own.
const stream = fc.oneof(streamWith(fc.constantFrom('\n', '\r\n')), streamWith(fc.constant('\r')));

test('the events are those a spec-following parser finds, however the bytes are cut', () => {
  fc.assert(
    fc.property(stream, fc.array(fc.nat(), { maxLength: 12 }), (text, at) => {
      const events = ours(cut(new TextEncoder().encode(text), at));
      const expected = oracle(text);
      const got = events.filter((e) => !('ended' in e)).map((e) => ('data' in e ? e.data : '[DONE]'));
      assert.deepEqual(got, expected);
      const last = events.at(-1)!;
      if (expected.at(-1) === '[DONE]') assert.deepEqual(last, { done: true });
      else assert.deepEqual(last, { ended: true, partialEvent: false }, 'every event was complete');
    }),
    { numRuns: 500 },
  );
});

test('a body cut inside an event ends partial; one cut between events does not', () => {
  fc.assert(
    fc.property(
      fc.array(value, { minLength: 1, maxLength: 3 }),
      fc.constantFrom('\n', '\r\n', '\r'),
      (values, newline) => {
        const complete = values.map((v) => `data: ${v}${newline}${newline}`).join('');
        const events = ours([new TextEncoder().encode(complete.replace(/\[DONE\]/g, 'x'))]);
        assert.deepEqual(events.at(-1), { ended: true, partialEvent: false });
        for (const tail of [`data: {"cut`, `data: x${newline}`, `: a comment${newline}data: y`]) {
          const cutShort = ours([new TextEncoder().encode(complete.replace(/\[DONE\]/g, 'x') + tail)]);
          assert.deepEqual(cutShort.at(-1), { ended: true, partialEvent: true }, JSON.stringify(tail));
        }
      },
    ),
  );
});

test('nothing after [DONE] is read', () => {
  const parser = new SseParser();
  const out: SseData[] = [];
  parser.push(new TextEncoder().encode('data: a\n\ndata: [DONE]\n\ndata: b\n\n'), out);
  parser.push(new TextEncoder().encode('data: c\n\n'), out);
  assert.deepEqual(out, [{ data: 'a' }, { done: true }]);
});

test('any bytes at all: no throw, and an answer at the end', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
      const events = ours(chunks);
      const last = events.at(-1)!;
      assert.ok('done' in last || 'ended' in last);
    }),
  );
});
