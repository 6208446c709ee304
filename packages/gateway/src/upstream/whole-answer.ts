import { errors, util, type Dispatcher } from 'undici';
import type { CancelSource } from 'breakwater';

/** An upstream's answer, read to its end. */
export interface WholeAnswer {
  statusCode: number;
  /** Header names lower-cased; a repeated header's values in an array (as undici's `request` gives them). */
  headers(): Record<string, string | string[]>;
  text: string;
}

export interface WholeRequest {
  url: string;
  headers: Readonly<Record<string, string>>;
  body: string;
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
  request: WholeRequest,
  signal: CancelSource,
): Promise<WholeAnswer> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const { origin, path } = splitUrl(request.url);
    const handler = new WholeAnswerHandler(signal, resolve, reject);
    dispatcher.dispatch({ origin, path, method: 'POST', headers: request.headers, body: request.body }, handler);
  });
}

const abortReason = (signal: CancelSource): unknown => signal.reason ?? new errors.RequestAbortedError();

/** Collects one answer; a class, not closures, so a request costs one object. */
class WholeAnswerHandler implements Dispatcher.DispatchHandlers {
  private statusCode = 0;
  private rawHeaders: Buffer[] = [];
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private abortDispatch: ((reason: Error) => void) | undefined = undefined;
  private readonly onAbort = (): void => {
    // Before the request reached a connection there is nothing to cut yet: onConnect does it.
    this.abortDispatch?.(abortReason(this.signal) as Error);
  };

  constructor(
    private readonly signal: CancelSource,
    private readonly resolve: (answer: WholeAnswer) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    signal.addEventListener('abort', this.onAbort);
  }

  onConnect(abort: (reason: Error) => void): void {
    if (this.signal.aborted) return abort(abortReason(this.signal) as Error);
    this.abortDispatch = abort;
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
    this.signal.removeEventListener('abort', this.onAbort);
    const text =
      this.chunks.length === 1
        ? this.chunks[0]!.toString('utf8')
        : Buffer.concat(this.chunks, this.length).toString('utf8');
    const rawHeaders = this.rawHeaders;
    this.resolve({
      statusCode: this.statusCode,
      text,
      headers: () => util.parseHeaders(rawHeaders) as Record<string, string | string[]>,
    });
  }

  onError(error: Error): void {
    this.signal.removeEventListener('abort', this.onAbort);
    this.reject(error);
  }
}

// A target's URLs are few (its base URL and a path per call): each is split once, not parsed per request.
const MAX_REMEMBERED_URLS = 1_000;
const splitUrls = new Map<string, { origin: string; path: string }>();

function splitUrl(url: string): { origin: string; path: string } {
  let split = splitUrls.get(url);
  if (!split) {
    const parsed = new URL(url);
    split = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    if (splitUrls.size >= MAX_REMEMBERED_URLS) splitUrls.clear();
    splitUrls.set(url, split);
  }
  return split;
}
