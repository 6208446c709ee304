import { errors, type Dispatcher } from 'undici';
import type { CancelSource } from 'breakwater';
import { CancellableHandler, dispatchPost, type UpstreamRequest } from './upstream-dispatch.js';
import { ChunkQueue } from './chunk-queue.js';

/** A streamed answer, once its headers are in. */
export interface StreamedAnswer {
  readonly statusCode: number;
  /** As they came, name then value (`headersOf` parses them). */
  readonly rawHeaders: Buffer[];
  /** An answer of 400 or more: its whole body, read before it was handed over ('' if it broke off). */
  readonly text: string | undefined;
  /** A success's body, chunk by chunk as it comes. */
  readonly body: AsyncIterableIterator<Uint8Array>;
  /** Gives the body up before its end: the request is cut, and a read waiting fails. */
  cut(): void;
}

/**
 * A POST whose answer is handed over at its headers and read chunk by chunk, through the gateway's
 * own dispatch handler rather than undici's `request()` (see upstream-dispatch.ts): no
 * AsyncResource per call, no Readable per body, each chunk passed from the connection's parser to
 * the reader's queue as it is. A reader that falls behind pauses the connection (ChunkQueue).
 */
export function requestStreamed(
  dispatcher: Dispatcher,
  request: UpstreamRequest,
  signal: CancelSource,
): Promise<StreamedAnswer> {
  return dispatchPost(
    dispatcher,
    request,
    signal,
    (resolve, reject) => new StreamedAnswerHandler(signal, resolve, reject),
  );
}

class StreamedAnswerHandler extends CancellableHandler implements StreamedAnswer {
  statusCode = 0;
  rawHeaders: Buffer[] = [];
  text: string | undefined = undefined;
  readonly body: ChunkQueue;
  /** The answer was handed over (or the call failed): later failures go to the body. */
  private handedOver = false;
  /** An answer of 400 or more, collected whole before it is handed over. */
  private failureChunks: Buffer[] | undefined = undefined;
  private resumeUpstream: () => void = () => {};

  constructor(
    signal: CancelSource,
    private readonly resolve: (answer: StreamedAnswer) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    super(signal);
    this.body = new ChunkQueue(() => this.resumeUpstream());
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx answers come before the real one; undici's request() skips them too.
    if (statusCode < 200) return true;
    this.statusCode = statusCode;
    this.rawHeaders = rawHeaders;
    this.resumeUpstream = resume;
    if (statusCode >= 400) this.failureChunks = [];
    else this.handOver();
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (!this.failureChunks) return this.body.push(chunk);
    this.failureChunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.settled();
    if (this.failureChunks) {
      this.text = Buffer.concat(this.failureChunks).toString('utf8');
      this.handOver();
    } else this.body.end();
  }

  onError(error: Error): void {
    this.settled();
    if (this.handedOver) return this.body.fail(error);
    // A failure's status is what classifies it; a body that broke off leaves it without one.
    if (this.failureChunks) {
      this.text = '';
      return this.handOver();
    }
    this.handedOver = true;
    this.reject(error);
  }

  cut(): void {
    this.body.fail(new Error('The upstream body was closed before its end.'));
    this.abortRequest(new errors.RequestAbortedError());
  }

  private handOver(): void {
    this.handedOver = true;
    this.resolve(this);
  }
}
