import type { ServerConfig } from '../config/schema.js';

/** Client-side bounds on the HTTP server: headers, body, keep-alive (timeouts answered 408). */
export function serverLimits(server: ServerConfig) {
  return {
    requestTimeout: server.requestTimeoutMs,
    keepAliveTimeout: server.keepAliveTimeoutMs,
    // fastify's own 503 body while closing is replaced by our SERVICE_DRAINING in the gateway's shape.
    return503OnClosing: false,
    http: {
      headersTimeout: server.headersTimeoutMs,
      requestTimeout: server.requestTimeoutMs,
      // Node checks those timeouts on this interval (30 s by default): check often enough to honour them.
      connectionsCheckingInterval: Math.min(1_000, server.headersTimeoutMs),
    },
  };
}
