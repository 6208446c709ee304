/** Chunks read ahead before the upstream is paused (backpressure reaches its socket). */
const READ_AHEAD = 16;

/**
 * A streamed answer's body as its reader takes it. A `next()` that finds a chunk waiting settles at
 * once; one that must wait costs one promise. Node's own iterator over a Readable is an async
 * generator, several promise hops per chunk — paid for every read of every stream the gateway
 * relays. Fed by the upstream's handler (`push`, `end`, `fail`): once READ_AHEAD chunks wait unread,
 * `push` answers false and the upstream is paused until the reader has taken half of them.
 */
export class ChunkQueue implements AsyncIterableIterator<Uint8Array> {
  private readonly queue: Uint8Array[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined = undefined;
  private waiting:
    { resolve: (result: IteratorResult<Uint8Array>) => void; reject: (error: unknown) => void } | undefined = undefined;
  private paused = false;

  /** `resume` restarts an upstream that `push` paused. */
  constructor(private readonly resume: () => void) {}

  /** A chunk of the body: false when the upstream should pause. */
  push(chunk: Uint8Array): boolean {
    const waiter = this.waiting;
    if (waiter) {
      this.waiting = undefined;
      waiter.resolve({ done: false, value: chunk });
      return true;
    }
    this.queue.push(chunk);
    if (this.queue.length < READ_AHEAD) return true;
    this.paused = true;
    return false;
  }

  /** The body's end: reads after the waiting chunks are done. */
  end(): void {
    if (this.ended || this.failure) return;
    this.ended = true;
    this.wake();
  }

  /** The body failed (or was cut): reads after the waiting chunks reject with `error`. */
  fail(error: unknown): void {
    if (this.ended || this.failure) return;
    this.failure = { error };
    this.wake();
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    const chunk = this.queue.shift();
    if (chunk !== undefined) {
      if (this.paused && this.queue.length < READ_AHEAD / 2) {
        this.paused = false;
        this.resume();
      }
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private wake(): void {
    const waiter = this.waiting;
    if (!waiter) return;
    this.waiting = undefined;
    if (this.failure) waiter.reject(this.failure.error);
    else waiter.resolve({ done: true, value: undefined });
  }
}
