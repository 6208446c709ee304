import type { ServerResponse } from 'node:http';
import { Errors } from 'breakwater';

export interface ClientBounds {
  /** How long a client may read nothing while data waits for it (ms). */
  slowClientTimeoutMs: number;
  /** Bytes that may wait in the response buffer for a client that does not read. */
  maxClientBufferBytes: number;
}

/**
 * Writes a chunk to a streaming client with backpressure: when the socket's buffer is full the
 * gateway stops reading the upstream (it awaits the promise returned) instead of buffering without
 * limit. A client that reads nothing for `slowClientTimeoutMs`, or lets more than
 * `maxClientBufferBytes` pile up, is cut: its socket is destroyed and the stream ends as cancelled
 * (thrown at once, or the promise rejects). Undefined when the chunk went out: a client that keeps
 * up costs no promise per chunk.
 */
export function writeToClient(
  response: ServerResponse,
  chunk: string,
  bounds: ClientBounds,
): Promise<void> | undefined {
  if (response.write(chunk)) return undefined;
  if (response.writableLength > bounds.maxClientBufferBytes) throw cut(response, 'let too much data pile up');
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error): void => {
      clearTimeout(timer);
      response.off('drain', onDrain);
      response.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(Errors.cancelled({ message: 'The client closed the connection.' }));
    const timer = setTimeout(
      () => done(cut(response, `read nothing for ${bounds.slowClientTimeoutMs} ms`)),
      bounds.slowClientTimeoutMs,
    );
    response.once('drain', onDrain);
    response.once('close', onClose);
  });
}

function cut(response: ServerResponse, what: string) {
  response.destroy();
  return Errors.cancelled({
    message: `The streaming client ${what}; the connection was cut.`,
    details: { reason: 'slow_client' },
  });
}
