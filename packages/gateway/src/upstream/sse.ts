/**
 * One server-sent event's data; `done` for a `[DONE]` line; `ended` when the body ended without
 * one (whether that is a complete answer depends on what came before: a `finish_reason` or not).
 */
export type SseData = { data: string } | { done: true } | { ended: true; partialEvent: boolean };

/**
 * Splits a byte stream into events, synchronously, as its chunks arrive: a stream reader pays one
 * await per read of the body, not one per event. `push` appends what a chunk completes to `out`.
 */
export interface Framer {
  push(chunk: Uint8Array, out: SseData[]): void;
  /** The body ended: any event its last bytes complete, then what the end means. */
  end(out: SseData[]): void;
}

const LF = 10;
const SPACE = 32;
const COLON = 58;

/**
 * Server-sent events, parsed line by line (`\n`, `\r\n` or `\r`), as the WHATWG spec reads them.
 * Only `data` fields count (several lines of one event are joined with `\n`); comments and other
 * fields are ignored; an event without data is skipped; a `[DONE]` data line ends the stream, as
 * OpenAI-compatible servers send it. Errors of the body itself (a reset, the size cap) are the
 * reader's, thrown as they are.
 */
export class SseParser implements Framer {
  private readonly decoder = new TextDecoder();
  /**
   * An incomplete last line, in the pieces it came in: joined only once a newline arrives, so a long
   * line sent in many small reads costs its length once, not its length once per read.
   */
  private tail: string[] = [];
  /** The current event's data so far (undefined: no data line yet). */
  private data: string | undefined = undefined;
  /** A line of the current event was read (an event cut here is partial). */
  private inEvent = false;
  private finished = false;

  push(chunk: Uint8Array, out: SseData[]): void {
    if (this.finished) return;
    const decoded = this.decoder.decode(chunk, { stream: true });
    if (!decoded.includes('\n') && !decoded.includes('\r')) {
      if (decoded !== '') this.tail.push(decoded);
      return;
    }
    this.scan(this.tail.length === 0 ? decoded : this.tail.join('') + decoded, out, false);
  }

  end(out: SseData[]): void {
    // A last `\r` waited for a `\n` that will not come: it ends its line.
    if (!this.finished && this.tail.length > 0) this.scan(this.tail.join(''), out, true);
    if (this.finished) return;
    out.push({ ended: true, partialEvent: this.inEvent || this.tail.join('').trim() !== '' });
  }

  /** Reads every complete line of `text`; the rest waits for the next read (`final`: there is none). */
  private scan(text: string, out: SseData[], final: boolean): void {
    this.tail = [];
    let start = 0;
    // Where the next `\r` is, found once per `\r` (not once per line: most streams have none).
    let cr = text.indexOf('\r');
    for (;;) {
      if (cr >= 0 && cr < start) cr = text.indexOf('\r', start);
      const lf = text.indexOf('\n', start);
      const end = cr >= 0 && (lf < 0 || cr < lf) ? cr : lf;
      if (end < 0) break;
      // A `\r` that ends the text may be the first half of `\r\n`: decided with the next read.
      if (end === cr && end === text.length - 1 && !final) break;
      const lineStart = start;
      start = end === cr && text.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
      if (end === lineStart) {
        if (this.dispatch(out)) return;
      } else this.line(text, lineStart, end);
    }
    if (start < text.length) this.tail.push(text.slice(start));
  }

  private line(text: string, start: number, end: number): void {
    this.inEvent = true;
    if (!text.startsWith('data', start)) return;
    // `data` alone is the field with an empty value; `data:x` and `data: x` both give `x`.
    let value: string;
    if (end === start + 4) value = '';
    else if (text.charCodeAt(start + 4) !== COLON) return;
    else value = text.slice(start + 5 < end && text.charCodeAt(start + 5) === SPACE ? start + 6 : start + 5, end);
    this.data = this.data === undefined ? value : `${this.data}\n${value}`;
  }

  /** A blank line: the event is complete. True when it was `[DONE]` (nothing after it is read). */
  private dispatch(out: SseData[]): boolean {
    const data = this.data;
    this.data = undefined;
    this.inEvent = false;
    if (data === undefined || data === '') return false;
    if (data === '[DONE]') {
      this.finished = true;
      this.tail = [];
      out.push({ done: true });
      return true;
    }
    out.push({ data });
    return false;
  }
}
