import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Errors, rateLimiter } from 'breakwater';
import type { GatewayMetrics } from './gateway-metrics.js';

/** Who may call a route: declared on the route itself (`config: { access }`), never read from the URL. */
export type Access = 'public' | 'client' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}

export interface AccessOptions {
  /** SHA-256 digests of the client keys (read per request: a reload swaps them). Empty: open gateway. */
  clientKeys: () => Buffer[];
  /** SHA-256 of the admin key; without it admin routes are not registered at all. */
  adminKeySha256: string | undefined;
  throttle: { burst: number; perMinute: number };
  metrics: GatewayMetrics;
}

/**
 * Authorisation decided on the matched route. fastify routes on the decoded path, so a check on
 * the raw URL (`/%761/chat/completions`, `/%61dmin/operations`) can be walked around; the route's
 * own config cannot. It runs at `onRequest`, before the body is read, so an unauthenticated client
 * cannot make the gateway buffer a body. Paths that match no route stay 404 for everyone.
 *
 * Wrong keys are throttled per source address with the library's token bucket, charged only on
 * failure: after `burst` failures an address gets 429 + Retry-After (its key is not even checked)
 * until the bucket refills.
 */
export function installAccessControl(app: FastifyInstance, options: AccessOptions): void {
  const failures = rateLimiter({ perSecond: options.throttle.perMinute / 60, burst: options.throttle.burst });
  const adminDigest = options.adminKeySha256 ? Buffer.from(options.adminKeySha256, 'hex') : undefined;

  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config?.access ?? 'public';
    if (access === 'public') return;
    const wait = failures.peek(request.ip);
    if (wait > 0) {
      options.metrics.rejected('auth_throttled');
      throw Errors.rateLimited({
        message: `Too many failed authentication attempts from ${request.ip}.`,
        userMessage: 'Too many failed authentication attempts. Wait before trying again.',
        retryAfterMs: wait,
      });
    }
    const ok =
      access === 'admin'
        ? adminDigest !== undefined && matches(String(request.headers['x-admin-key'] ?? ''), [adminDigest])
        : clientAllowed(request, options.clientKeys());
    if (ok) return;
    failures.take(request.ip);
    options.metrics.authFailed(access);
    throw Errors.unauthenticated({
      userMessage:
        access === 'admin'
          ? 'Admin key required (x-admin-key).'
          : 'Missing or invalid API key. Send `Authorization: Bearer <key>`.',
    });
  });
}

function clientAllowed(request: FastifyRequest, keys: Buffer[]): boolean {
  if (keys.length === 0) return true;
  const header = request.headers.authorization ?? '';
  return matches(header.startsWith('Bearer ') ? header.slice(7).trim() : '', keys);
}

/** Compares the key's SHA-256 with each stored digest in constant time. */
function matches(key: string, digests: Buffer[]): boolean {
  if (!key) return false;
  const digest = createHash('sha256').update(key).digest();
  let found = false;
  for (const expected of digests) found = timingSafeEqual(expected, digest) || found;
  return found;
}
