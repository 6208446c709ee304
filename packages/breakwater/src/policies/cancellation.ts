/**
 * What breakwater (and undici) read of a cancellation: whether it happened, why, and an `abort`
 * event. An AbortSignal is one; so is a `Cancellation`.
 */
export interface AbortSource {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** What a caller can hand breakwater to cancel a call: a signal, or a Cancellation. */
export type CancelSource = AbortSignal | Cancellation;

/**
 * A cancellation that makes no AbortSignal until one is asked for (`signal`). An AbortSignal costs
 * ~2 µs to make, and on Node 20 every one survives the young-generation collections until the next
 * full GC, dead or not (see `CallContext`): a server that makes one per request and per attempt
 * spends most of each scavenge copying them. A Cancellation is a plain object. It carries the
 * `abort` event the way an AbortSignal does (`aborted`, `reason`, `addEventListener('abort')`,
 * `removeEventListener`), which is all breakwater reads and all undici's `signal` option reads
 * (it accepts any EventTarget); `fetch` and Node's own APIs need the real `signal`.
 *
 * Listeners run once, in the order they were added, with no event argument. A listener that throws
 * does not stop the others; its error is re-thrown on a microtask, as an EventTarget reports it.
 */
export class Cancellation implements AbortSource {
  private done = false;
  private why: unknown = undefined;
  private listeners: (() => void)[] | undefined = undefined;
  private controller: AbortController | undefined = undefined;

  get aborted(): boolean {
    return this.done;
  }

  get reason(): unknown {
    return this.why;
  }

  /** A real AbortSignal that aborts with this cancellation: made on first read. */
  get signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    this.controller = new AbortController();
    if (this.done) this.controller.abort(this.why);
    return this.controller.signal;
  }

  /** Cancels (once): `reason` defaults to an AbortError, as `AbortController.abort()` does. */
  abort(reason?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.why = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    this.controller?.abort(this.why);
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const listener of listeners) runListener(listener);
  }

  /** Throws the reason when cancelled (`AbortSignal.throwIfAborted`). */
  throwIfAborted(): void {
    if (this.done) throw this.why;
  }

  /** `options` is accepted for AbortSignal's shape: an abort listener runs once either way. */
  addEventListener(type: 'abort', listener: () => void, _options?: { once?: boolean }): void {
    // After the abort nothing fires again, as with an aborted AbortSignal.
    if (type !== 'abort' || this.done) return;
    const listeners = (this.listeners ??= []);
    if (!listeners.includes(listener)) listeners.push(listener);
  }

  removeEventListener(type: 'abort', listener: () => void): void {
    const listeners = this.listeners;
    if (type !== 'abort' || !listeners) return;
    const at = listeners.indexOf(listener);
    if (at >= 0) listeners.splice(at, 1);
  }
}

/** The real AbortSignal behind a source: itself, or a Cancellation's (made on demand). */
export function toSignal(source: CancelSource): AbortSignal {
  return source instanceof Cancellation ? source.signal : source;
}

function runListener(listener: () => void): void {
  try {
    listener();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
