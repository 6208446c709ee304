import { fromRule, type BreakwaterError } from 'breakwater';
import { RULES } from 'breakwater/rules';
import type { StreamTranslator } from './protocol.js';
import { awsEventStream } from './aws-eventstream.js';
import { sseEvents } from './sse.js';

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

export type StreamItem = { chunk: Chunk } | { done: true } | { ended: true; partialEvent: boolean };

/**
 * Reads an SSE body as OpenAI chunks, parsing each event once (through the upstream protocol's
 * translator: one native event may give several chunks, or none). Events whose data is not JSON
 * are skipped and counted (never forwarded); past `maxMalformed` the stream fails with
 * `proxy.malformed_stream`.
 */
export class StreamReader {
  malformed = 0;
  private readonly events: AsyncGenerator<ReturnType<typeof sseEvents> extends AsyncGenerator<infer T> ? T : never>;
  /** Chunks translated from one event and not yet read. */
  private pending: Chunk[] = [];

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
    this.events = framing === 'sse' ? sseEvents(body) : awsEventStream(body);
  }

  async next(): Promise<StreamItem> {
    for (;;) {
      const queued = this.pending.shift();
      if (queued) return { chunk: queued };
      const next = await this.events.next();
      if (next.done) return { ended: true, partialEvent: false };
      const event = next.value;
      if (!('data' in event)) return event;
      const chunks = this.translate(event.data);
      if (chunks) {
        this.pending = chunks;
        continue;
      }
      this.malformed++;
      this.onMalformed(this.malformed);
      if (this.malformed > this.maxMalformed) throw this.tooMalformed();
    }
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
