import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { Errors } from '../errors/codes.js';
import { errorResponse } from './error-response.js';
import type { HttpErrorOptions } from './error-response.js';

/**
 * Answers a request Node's HTTP parser rejected (bad header bytes, oversized headers) in the same
 * error format, then closes the socket. Install with `server.on('clientError', …)`; fastify takes it
 * as `clientErrorHandler`.
 */
export function writeClientError(
  error: Error & { code?: string },
  socket: Socket,
  options: HttpErrorOptions = {},
): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const thrown =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? Errors.payloadTooLarge({ message: 'Request headers too large.' })
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? Errors.requestTimeout({ message: 'The request (headers or body) did not arrive in time.' })
        : Errors.malformedBody({ message: 'Malformed HTTP request.' });
  const response = errorResponse(thrown, { method: 'UNKNOWN', path: '' }, options);
  const headers = Object.entries({
    ...response.headers,
    'content-length': String(Buffer.byteLength(response.body)),
    connection: 'close',
  })
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n');
  socket.end(
    `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? 'Error'}\r\n${headers}\r\n\r\n${response.body}`,
  );
}

/** Replaces a server's `clientError` handling (Node's bare 400, or a framework's) with `writeClientError`. */
export function installClientErrorHandler(server: import('node:http').Server, options: HttpErrorOptions = {}): void {
  server.removeAllListeners('clientError');
  server.on('clientError', (error: Error, socket: Socket) => writeClientError(error, socket, options));
}
