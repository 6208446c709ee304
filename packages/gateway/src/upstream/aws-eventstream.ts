import { fromRule } from 'breakwater';
import { RULES } from 'breakwater/rules';
import type { Framer, SseData } from './sse.js';

/**
 * AWS's binary event-stream framing (`application/vnd.amazon.eventstream`, Bedrock ConverseStream):
 * each message is a prelude (total length, headers length, CRC32), headers, a JSON payload and a
 * CRC32 of the whole. Decoded here into the same items as an SSE stream, so the gateway's stream
 * reader, deadlines and bounds apply unchanged: an event becomes `{"<event type>": payload}`, an
 * exception `{"error": {type, message}}`.
 */
export class AwsEventStreamParser implements Framer {
  private buffer = Buffer.alloc(0);

  push(chunk: Uint8Array, out: SseData[]): void {
    let buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    while (buffer.length >= 12) {
      const total = buffer.readUInt32BE(0);
      if (total < 16 || total > MAX_MESSAGE_BYTES) throw malformed(`a frame of ${total} bytes`);
      if (buffer.length < total) break;
      out.push(decode(buffer.subarray(0, total)));
      buffer = buffer.subarray(total);
    }
    this.buffer = buffer;
  }

  end(out: SseData[]): void {
    out.push({ ended: true, partialEvent: this.buffer.length > 0 });
  }
}

/** One event-stream message: its headers (string values) and payload, framed and checksummed. */
export function encodeEventStreamMessage(headers: Record<string, string>, payload: string): Buffer {
  const encodedHeaders = Buffer.concat(
    Object.entries(headers).map(([name, value]) => {
      const key = Buffer.from(name);
      const text = Buffer.from(value);
      const head = Buffer.alloc(1 + key.length + 1 + 2);
      head.writeUInt8(key.length, 0);
      key.copy(head, 1);
      head.writeUInt8(STRING_TYPE, 1 + key.length);
      head.writeUInt16BE(text.length, 2 + key.length);
      return Buffer.concat([head, text]);
    }),
  );
  return frameOf(encodedHeaders, Buffer.from(payload));
}

/** Frames encoded header bytes and a payload: the prelude, both checksums. */
export function frameOf(encodedHeaders: Buffer, body: Buffer): Buffer {
  const total = 12 + encodedHeaders.length + body.length + 4;
  const prelude = Buffer.alloc(12);
  prelude.writeUInt32BE(total, 0);
  prelude.writeUInt32BE(encodedHeaders.length, 4);
  prelude.writeUInt32BE(crc32(prelude.subarray(0, 8)), 8);
  const withoutCrc = Buffer.concat([prelude, encodedHeaders, body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(withoutCrc), 0);
  return Buffer.concat([withoutCrc, crc]);
}

const STRING_TYPE = 7;
/** Bedrock's messages are small; anything near this is not a Bedrock stream. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

function decode(message: Buffer): SseData {
  const headersLength = message.readUInt32BE(4);
  if (message.readUInt32BE(8) !== crc32(message.subarray(0, 8))) throw malformed('a prelude checksum mismatch');
  if (message.readUInt32BE(message.length - 4) !== crc32(message.subarray(0, message.length - 4)))
    throw malformed('a message checksum mismatch');
  if (12 + headersLength > message.length - 4) throw malformed('headers longer than their message');
  let headers: Record<string, string>;
  try {
    headers = readHeaders(message.subarray(12, 12 + headersLength));
  } catch (error) {
    // Checksums fine but headers that overrun: a hostile or broken peer, not a bug of ours.
    if (error instanceof RangeError) throw malformed('headers that overrun their message');
    throw error;
  }
  const payload = message.subarray(12 + headersLength, message.length - 4).toString('utf8');
  const type = headers[':message-type'];
  if (type === 'exception' || type === 'error') {
    let parsed: { message?: unknown } = {};
    try {
      parsed = JSON.parse(payload) as { message?: unknown };
    } catch {
      // An exception without a JSON body still names its type.
    }
    const name = headers[':exception-type'] ?? headers[':error-code'] ?? 'unknownException';
    return {
      data: JSON.stringify({ error: { type: name, message: parsed.message ?? headers[':error-message'] ?? name } }),
    };
  }
  return { data: `{${JSON.stringify(headers[':event-type'] ?? 'unknown')}:${payload === '' ? '{}' : payload}}` };
}

function readHeaders(bytes: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  let at = 0;
  while (at < bytes.length) {
    const nameLength = bytes.readUInt8(at);
    const name = bytes.subarray(at + 1, at + 1 + nameLength).toString('utf8');
    at += 1 + nameLength;
    const type = bytes.readUInt8(at);
    at += 1;
    const size = VALUE_SIZE[type];
    if (size !== undefined) {
      at += size;
      continue;
    }
    if (type !== 6 && type !== STRING_TYPE) throw malformed(`a header of type ${type}`);
    const length = bytes.readUInt16BE(at);
    if (type === STRING_TYPE) headers[name] = bytes.subarray(at + 2, at + 2 + length).toString('utf8');
    at += 2 + length;
  }
  return headers;
}

/** Fixed sizes of the header value types that are not strings or bytes (bool true/false, byte, short, int, long, timestamp, uuid). */
const VALUE_SIZE: Readonly<Record<number, number>> = { 0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16 };

function malformed(what: string) {
  return fromRule(RULES.proxy.malformed_stream, {
    domain: 'LLM',
    message: `The upstream's event stream is malformed: ${what}.`,
  });
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
