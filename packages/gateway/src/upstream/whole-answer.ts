import { util, type Dispatcher } from 'undici';
import type { CancelSource } from 'breakwater';
import { CancellableHandler, dispatchPost, type UpstreamRequest } from './upstream-dispatch.js';

/** An upstream's answer, read to its end. */
export interface WholeAnswer {
  statusCode: number;
  /** As they came, name then value; `headersOf` parses them (only a failure's classification reads them). */
  rawHeaders: Buffer[];
  text: string;
}

/**
 * A POST whose answer is read whole, handed to the connection pool with a handler of our own.
 * undici's `request()` gives the same answer, but wraps every call in an AsyncResource and every body
 * in a Readable stream that is then read back into one string: ~40–60 µs of CPU per request on this
 * stack (bench:gateway's floor, measured with each variant in its own process), paid on every
 * non-streaming call the gateway relays. Same pool, same limits (the agent's `maxResponseSize` and
 * timeouts apply to any dispatch), same errors: undici's own, or the signal's reason once it aborts
 * (before the answer's end: the request, or the reading of its body, is cut).
 */
export function requestWhole(
  dispatcher: Dispatcher,
  request: UpstreamRequest,
  signal: CancelSource,
): Promise<WholeAnswer> {
  return dispatchPost(
    dispatcher,
    request,
    signal,
    (resolve, reject) => new WholeAnswerHandler(signal, resolve, reject),
  );
}

/** Collects one answer; a class, not closures, so a request costs one object. */
class WholeAnswerHandler extends CancellableHandler {
  private statusCode = 0;
  private rawHeaders: Buffer[] = [];
  private readonly chunks: Buffer[] = [];
  private length = 0;

  constructor(
    signal: CancelSource,
    private readonly resolve: (answer: WholeAnswer) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    super(signal);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    // 1xx answers come before the real one; undici's request() skips them too.
    if (statusCode < 200) return true;
    this.statusCode = statusCode;
    this.rawHeaders = rawHeaders;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.length += chunk.length;
    return true;
  }

  onComplete(): void {
    this.settled();
    // Decoded once, whole: a character split between two chunks stays one character.
    const text =
      this.chunks.length === 1
        ? this.chunks[0]!.toString('utf8')
        : Buffer.concat(this.chunks, this.length).toString('utf8');
    this.resolve({ statusCode: this.statusCode, rawHeaders: this.rawHeaders, text });
  }

  onError(error: Error): void {
    this.settled();
    // A failure's status is what classifies it; a body that broke off leaves it without one.
    if (this.statusCode >= 400) this.resolve({ statusCode: this.statusCode, rawHeaders: this.rawHeaders, text: '' });
    else this.reject(error);
  }
}

/** Header names lower-cased, a repeated header's values in an array: as undici's `request()` gives them. */
export const headersOf = (rawHeaders: Buffer[]): Record<string, string | string[]> =>
  util.parseHeaders(rawHeaders) as Record<string, string | string[]>;
