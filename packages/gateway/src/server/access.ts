import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Errors, rateLimiter } from 'breakwater';
import type { GatewayMetrics } from './gateway-metrics.js';

/**
 * Who may call a route: declared on the route itself (`config: { access }`), never read from the
 * URL. `console`: a console session (a cookie set by the console's login with the admin key).
 */
export type Access = 'public' | 'client' | 'admin' | 'console';

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
  /** Whether the request carries a live console session (routes with `access: 'console'`). */
  consoleSession: (request: FastifyRequest) => boolean;
}

/** Wrong credentials per source address: the console's login form charges the same bucket. */
export interface AuthThrottle {
  /** Refuses (429) an address that failed too often; call before checking a credential. */
  check(ip: string): void;
  failed(ip: string, access: Access): void;
  /** Whether `key` is the admin key (constant time). */
  isAdminKey(key: string): boolean;
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
export function installAccessControl(app: FastifyInstance, options: AccessOptions): AuthThrottle {
  const failures = rateLimiter({ perSecond: options.throttle.perMinute / 60, burst: options.throttle.burst });
  const adminDigest = options.adminKeySha256 ? Buffer.from(options.adminKeySha256, 'hex') : undefined;
  const throttle: AuthThrottle = {
    check(ip) {
      const wait = failures.peek(ip);
      if (wait <= 0) return;
      options.metrics.rejected('auth_throttled');
      throw Errors.rateLimited({
        message: `Too many failed authentication attempts from ${ip}.`,
        userMessage: 'Too many failed authentication attempts. Wait before trying again.',
        retryAfterMs: wait,
      });
    },
    failed(ip, access) {
      failures.take(ip);
      options.metrics.authFailed(access);
    },
    isAdminKey: (key) => adminDigest !== undefined && matches(key, [adminDigest]),
  };

  // Callback style, not async: a hook on every request should not cost a promise.
  app.addHook('onRequest', (request, _reply, done) => {
    try {
      authorise(request);
      done();
    } catch (error) {
      done(error as Error);
    }
  });
  function authorise(request: FastifyRequest): void {
    const access = request.routeOptions.config?.access ?? 'public';
    if (access === 'public') return;
    throttle.check(request.ip);
    const ok =
      access === 'admin'
        ? throttle.isAdminKey(String(request.headers['x-admin-key'] ?? ''))
        : access === 'console'
          ? options.consoleSession(request)
          : clientAllowed(request, options.clientKeys());
    if (ok) return;
    throttle.failed(request.ip, access);
    throw Errors.unauthenticated({ userMessage: REFUSED[access] });
  }
  return throttle;
}

const REFUSED: Record<Exclude<Access, 'public'>, string> = {
  admin: 'Admin key required (x-admin-key).',
  console: 'Log in to the console first (/console).',
  client: 'Missing or invalid API key. Send `Authorization: Bearer <key>`.',
};

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
