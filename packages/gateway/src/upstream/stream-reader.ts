import { fromRule, type BreakwaterError } from 'breakwater';
import { RULES } from 'breakwater/rules';
import type { StreamTranslator } from './protocol.js';
import { AwsEventStreamParser } from './aws-eventstream.js';
import { SseParser, type Framer, type SseData } from './sse.js';

/** One chunk of an OpenAI-compatible stream: its raw data (forwarded as is) and what it says. */
export interface Chunk {
  data: string;
  content: string;
  /** A `finish_reason` was set: the answer is complete. */
  finished: boolean;
  /** Carries something a client shows (content, a tool call, a refusal) or ends the answer. */
  meaningful: boolean;
  usage: unknown;
  /** The event is an `{"error": …}` event. */
  error: unknown;
}

/** How long the rest of a body after `[DONE]` may take to end before the connection is cut. */
const DRAIN_MS = 1_000;

export type StreamItem = { chunk: Chunk } | { done: true } | { ended: true; partialEvent: boolean };

/**
 * Reads an SSE body as OpenAI chunks, parsing each event once (through the upstream protocol's
 * translator: one native event may give several chunks, or none). Events whose data is not JSON
 * are skipped and counted (never forwarded); past `maxMalformed` the stream fails with
 * `proxy.malformed_stream`.
 *
 * One await per read of the body, none per event: a read is split into events at once, and `take()`
 * hands out what it holds without a promise — `next()` awaits only when the body must be read.
 */
export class StreamReader {
  malformed = 0;
  private readonly body: AsyncIterator<Uint8Array>;
  private readonly framer: Framer;
  /** Events of the last read not yet taken, from `eventAt` on. */
  private events: SseData[] = [];
  private eventAt = 0;
  /** Chunks translated from one event and not yet taken, from `chunkAt` on. */
  private chunks: Chunk[] = [];
  private chunkAt = 0;
  /** A framing error met in the last read: thrown once the events before it are taken. */
  private failure: { error: unknown } | undefined = undefined;
  /** The end (`[DONE]` or the body's end) was handed out: nothing more is read. */
  private over = false;
  private sawDone = false;
  private bodyEnded = false;
  private released = false;

  constructor(
    body: AsyncIterable<Uint8Array>,
    private readonly maxMalformed: number,
    private readonly dependency: string,
    private readonly onMalformed: (count: number) => void = () => {},
    private readonly translate: StreamTranslator = (data) => {
      const chunk = parseChunk(data);
      return chunk ? [chunk] : undefined;
    },
    framing: 'sse' | 'aws-eventstream' = 'sse',
  ) {
    this.body = body[Symbol.asyncIterator]();
    this.framer = framing === 'sse' ? new SseParser() : new AwsEventStreamParser();
  }

  /** The next item if the last read holds one (no promise); undefined when the body must be read. */
  take(): StreamItem | undefined {
    for (;;) {
      if (this.chunkAt < this.chunks.length) return { chunk: this.chunks[this.chunkAt++]! };
      if (this.eventAt >= this.events.length) {
        if (this.failure) throw this.failure.error;
        return this.over ? { ended: true, partialEvent: false } : undefined;
      }
      const event = this.events[this.eventAt++]!;
      if (!('data' in event)) {
        this.over = true;
        this.sawDone = 'done' in event;
        return event;
      }
      const chunks = this.translate(event.data);
      if (chunks) {
        this.chunks = chunks;
        this.chunkAt = 0;
        continue;
      }
      this.malformed++;
      this.onMalformed(this.malformed);
      if (this.malformed > this.maxMalformed) throw this.tooMalformed();
    }
  }

  async next(): Promise<StreamItem> {
    for (;;) {
      const item = this.take();
      if (item) return item;
      await this.read();
    }
  }

  /** One read of the body, split into events. */
  private async read(): Promise<void> {
    const { value, done } = await this.body.next();
    this.events = [];
    this.eventAt = 0;
    if (done) {
      this.bodyEnded = true;
      this.framer.end(this.events);
      return;
    }
    try {
      this.framer.push(value, this.events);
    } catch (error) {
      this.failure = { error };
    }
  }

  /**
   * Lets the body go once the reader is done with it. After `[DONE]` the rest of the body (usually
   * only its end, often here already) is read and dropped, so undici keeps the connection for the
   * next call — cutting it there aborts the request, which closes the connection and builds an
   * error with a stack; more data after `[DONE]`, or no end within `DRAIN_MS`, and it is cut after
   * all. A body that ended needs nothing; one given up mid-way is cut at once.
   */
  release(cut: () => void): void {
    if (this.released) return;
    this.released = true;
    if (this.bodyEnded) return;
    if (!this.sawDone) return cut();
    const timer = setTimeout(cut, DRAIN_MS);
    // The answer is complete: this wait must not hold a process that is shutting down.
    timer.unref?.();
    this.body.next().then(
      ({ done }) => {
        clearTimeout(timer);
        if (!done) cut();
      },
      () => clearTimeout(timer),
    );
  }

  private tooMalformed(): BreakwaterError {
    return fromRule(RULES.proxy.malformed_stream, {
      domain: 'LLM',
      dependency: this.dependency,
      message: `The upstream sent ${this.malformed} stream events that are not JSON (at most ${this.maxMalformed} are skipped).`,
    });
  }
}

/**
 * A stream event's data as a JSON object; undefined when it is not one (the reader skips and
 * counts it as malformed). Every protocol's translator starts here.
 */
export function parseEventObject<T extends object = Record<string, unknown>>(data: string): T | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return undefined;
  }
  return parsed !== null && typeof parsed === 'object' ? (parsed as T) : undefined;
}

/** One OpenAI-compatible chunk, forwarded as it came; undefined when it is not JSON. */
export function parseChunk(data: string): Chunk | undefined {
  const parsed = parseEventObject<{
    choices?: Array<{
      delta?: { content?: string | null; tool_calls?: unknown; refusal?: string | null };
      finish_reason?: string | null;
    }>;
    usage?: unknown;
    error?: unknown;
  }>(data);
  if (!parsed) return undefined;
  const choice = parsed.choices?.[0];
  const content = typeof choice?.delta?.content === 'string' ? choice.delta.content : '';
  const finished = typeof choice?.finish_reason === 'string';
  return {
    data,
    content,
    finished,
    meaningful: content !== '' || finished || choice?.delta?.tool_calls !== undefined || !!choice?.delta?.refusal,
    usage: parsed.usage ?? null,
    error: parsed.error,
  };
}
