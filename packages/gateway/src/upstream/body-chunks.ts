import type { Readable } from 'node:stream';

/** Chunks read ahead before the body is paused (backpressure reaches the upstream's socket). */
const READ_AHEAD = 16;

/**
 * A body's chunks, read through its `data`, `end` and `error` events: a `next()` that finds a chunk
 * waiting settles at once, one that must wait costs one promise. Node's own iterator
 * (`readable[Symbol.asyncIterator]`) is an async generator, several promise hops per chunk — paid
 * for every read of every stream the gateway relays.
 */
export function bodyChunks(body: Readable): AsyncIterable<Uint8Array> {
  const queue: Uint8Array[] = [];
  let ended = false;
  let failure: { error: unknown } | undefined;
  let waiting: { resolve: (result: IteratorResult<Uint8Array>) => void; reject: (error: unknown) => void } | undefined;
  const wake = (): void => {
    const waiter = waiting;
    if (!waiter) return;
    waiting = undefined;
    if (failure) waiter.reject(failure.error);
    else waiter.resolve({ done: true, value: undefined });
  };
  body.on('data', (chunk: Uint8Array) => {
    if (waiting) {
      const waiter = waiting;
      waiting = undefined;
      waiter.resolve({ done: false, value: chunk });
      return;
    }
    queue.push(chunk);
    if (queue.length >= READ_AHEAD) body.pause();
  });
  body.once('end', () => {
    ended = true;
    wake();
  });
  body.once('error', (error: unknown) => {
    failure = { error };
    wake();
  });
  // A body destroyed without an error (cut by the gateway itself) neither ends nor fails.
  body.once('close', () => {
    if (!ended && !failure) failure = { error: new Error('The upstream body was closed before its end.') };
    wake();
  });
  const iterator: AsyncIterator<Uint8Array> = {
    next() {
      const chunk = queue.shift();
      if (chunk !== undefined) {
        if (body.isPaused() && queue.length < READ_AHEAD / 2) body.resume();
        return Promise.resolve({ done: false, value: chunk });
      }
      if (failure) return Promise.reject(failure.error);
      if (ended) return Promise.resolve({ done: true, value: undefined });
      return new Promise((resolve, reject) => (waiting = { resolve, reject }));
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}
