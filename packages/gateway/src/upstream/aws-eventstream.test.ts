import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventStreamCodec } from '@smithy/core/event-streams';
import fc from 'fast-check';
import { BreakwaterError } from 'breakwater';
import { AwsEventStreamParser, encodeEventStreamMessage, frameOf } from './aws-eventstream.js';
import type { SseData } from './sse.js';

// The AWS SDK's own codec, to check our framing against an implementation that is not ours.
const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);
const sdkFrame = (type: string, payload: unknown, messageType = 'event') =>
  Buffer.from(
    codec.encode({
      headers: {
        ':message-type': { type: 'string', value: messageType },
        [messageType === 'event' ? ':event-type' : ':exception-type']: { type: 'string', value: type },
        ':content-type': { type: 'string', value: 'application/json' },
        // A non-string header, as AWS sends some: skipped by its fixed size.
        ':version': { type: 'integer', value: 1 },
      },
      body: new Uint8Array(Buffer.from(JSON.stringify(payload))),
    }),
  );

/** What the stream reader gets from these bytes, read by read, then the end. */
async function decodeAll(chunks: Uint8Array[]): Promise<SseData[]> {
  const parser = new AwsEventStreamParser();
  const items: SseData[] = [];
  for (const chunk of chunks) parser.push(chunk, items);
  parser.end(items);
  return items;
}

test('frames the AWS SDK encodes decode to the events Bedrock sends, however the bytes are chunked', async () => {
  const stream = Buffer.concat([
    sdkFrame('messageStart', { role: 'assistant' }),
    sdkFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'héllo' } }),
    sdkFrame('throttlingException', { message: 'slow down' }, 'exception'),
  ]);
  const expected = [
    { data: '{"messageStart":{"role":"assistant"}}' },
    { data: '{"contentBlockDelta":{"contentBlockIndex":0,"delta":{"text":"héllo"}}}' },
    { data: '{"error":{"type":"throttlingException","message":"slow down"}}' },
    { ended: true, partialEvent: false },
  ];
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 8 }), async (cuts) => {
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const chunks = [0, ...points].map((from, i) => stream.subarray(from, points[i] ?? stream.length));
      assert.deepEqual(await decodeAll(chunks), expected);
    }),
    { numRuns: 200 },
  );
});

test('what we encode, the AWS SDK decodes', () => {
  const message = codec.decode(encodeEventStreamMessage({ ':event-type': 'metadata' }, '{"usage":{}}'));
  assert.deepEqual(message.headers[':event-type'], { type: 'string', value: 'metadata' });
  assert.equal(Buffer.from(message.body).toString(), '{"usage":{}}');
});

test('garbage never hangs or throws anything but a classified malformed-stream error; a cut frame is partial', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
      try {
        await decodeAll([bytes]);
      } catch (error) {
        assert.ok(error instanceof BreakwaterError, String(error));
        assert.equal(error.rule, 'proxy.malformed_stream');
      }
    }),
    { numRuns: 500 },
  );
  const frame = sdkFrame('messageStop', { stopReason: 'end_turn' });
  assert.deepEqual((await decodeAll([frame.subarray(0, frame.length - 3)])).at(-1), {
    ended: true,
    partialEvent: true,
  });
  // Checksums right (the framing is checked against the AWS SDK above), headers wrong: a name
  // length that runs past the headers.
  const headers = Buffer.from([40, ...Buffer.from(':event-type')]);
  const forged = frameOf(headers, Buffer.from('{}'));
  await assert.rejects(decodeAll([forged]), (error: BreakwaterError) => error.rule === 'proxy.malformed_stream');
  const corrupt = Buffer.from(frame);
  corrupt[corrupt.length - 6]! ^= 0xff;
  await assert.rejects(decodeAll([corrupt]), (error: BreakwaterError) => error.rule === 'proxy.malformed_stream');
});
