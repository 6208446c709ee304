// A POST to an upstream, handed to undici's pool with a handler of the gateway's own
// (whole-answer.ts, streamed-answer.ts), cancelled as undici's `request()` cancels one.
import { errors, type Dispatcher } from 'undici';
import type { CancelSource } from 'breakwater';

/** What a cancelled request fails with: the signal's reason, as undici's `request()` gives it. */
const abortReason = (signal: CancelSource): Error => (signal.reason ?? new errors.RequestAbortedError()) as Error;

/**
 * The part of an upstream call's dispatch handler that cancels it. The gateway hands its calls to
 * the connection pool with handlers of its own rather than through undici's `request()`, which wraps
 * every call in an AsyncResource and every body in a Readable stream (see whole-answer.ts for what
 * that cost). This is what `request()` did with its `signal`: the signal's abort cuts the request
 * before it reaches a connection, while it is sent, or while its answer is read, and the call fails
 * with the signal's reason. A subclass calls `settled()` once its answer has ended either way.
 */
export abstract class CancellableHandler implements Dispatcher.DispatchHandlers {
  private abortDispatch: ((reason: Error) => void) | undefined = undefined;
  /** A cut asked for before the request reached a connection: made in `onConnect`. */
  private pendingCut: Error | undefined = undefined;
  private readonly onAbort = (): void => this.abortRequest(abortReason(this.signal));

  constructor(private readonly signal: CancelSource) {
    signal.addEventListener('abort', this.onAbort);
  }

  onConnect(abort: (reason: Error) => void): void {
    if (this.pendingCut) return abort(this.pendingCut);
    this.abortDispatch = abort;
  }

  abstract onError(error: Error): void;

  /** Ends the request now: the call fails with `reason` (through `onError`). */
  protected abortRequest(reason: Error): void {
    if (this.abortDispatch) this.abortDispatch(reason);
    else this.pendingCut ??= reason;
  }

  /** The answer has ended (or failed): the signal is let go. */
  protected settled(): void {
    this.signal.removeEventListener('abort', this.onAbort);
  }
}

/** What the gateway sends an upstream: a POST of `body` to `url`. */
export interface UpstreamRequest {
  url: string;
  headers: Readonly<Record<string, string>>;
  body: string;
}

/**
 * Sends `request` through `dispatcher` with the handler `handlerFor` makes, which settles the
 * promise; a signal cancelled already rejects at once with its reason, and nothing is sent.
 */
export function dispatchPost<A>(
  dispatcher: Dispatcher,
  request: UpstreamRequest,
  signal: CancelSource,
  handlerFor: (resolve: (answer: A) => void, reject: (error: unknown) => void) => Dispatcher.DispatchHandlers,
): Promise<A> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    dispatcher.dispatch(postOptions(request), handlerFor(resolve, reject));
  });
}

// A target's URLs are few (its base URL and a path per call): each is split once, not parsed per request.
const MAX_REMEMBERED_URLS = 1_000;
const splitUrls = new Map<string, { origin: string; path: string }>();

function postOptions({ url, headers, body }: UpstreamRequest): Dispatcher.DispatchOptions {
  let split = splitUrls.get(url);
  if (!split) {
    const parsed = new URL(url);
    split = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    if (splitUrls.size >= MAX_REMEMBERED_URLS) splitUrls.clear();
    splitUrls.set(url, split);
  }
  return { origin: split.origin, path: split.path, method: 'POST', headers, body };
}
