import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Errors, type Redactor } from 'breakwater';
import type { AuthThrottle } from '../server/access.js';
import { applyAction, ACTIONS, type ActionDeps, type Subject } from '../server/operator-actions.js';
import { APP_CSS, APP_JS } from './assets.js';
import { consolePage, loginPage } from './pages.js';
import { COOKIE, csrfMatches, type ConsoleSession, type ConsoleSessions } from './sessions.js';
import { consoleSnapshot, type SnapshotSources } from './snapshot.js';

export interface ConsoleOptions {
  sessions: ConsoleSessions;
  throttle: AuthThrottle;
  actions: ActionDeps;
  snapshot: SnapshotSources;
  redactor: Redactor;
}

/** Pages that run only the console's own script and styles, and cannot be framed. */
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  // same-origin, not no-referrer: with no-referrer a form's POST carries `Origin: null`.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};
const STREAM_INTERVAL_MS = 1_000;
const MAX_STREAMS = 32;

const Login = z.object({
  name: z.string().regex(/^[A-Za-z0-9 ._@-]{1,40}$/),
  key: z.string().min(1).max(1_000),
});
const Action = z.strictObject({
  subject: z.enum(Object.keys(ACTIONS) as [Subject, ...Subject[]]),
  key: z.string().min(1).max(300),
  action: z.string().min(1).max(40),
});

/**
 * The operator console at /console, behind the admin key: a login form that sets an HttpOnly,
 * SameSite=Strict session cookie (the key itself is never stored in the browser or put in a URL);
 * one page updated live over SSE; actions as JSON POSTs carrying the session's CSRF token, refused
 * from any other origin. Every action is journaled with who took it.
 */
export function registerConsole(app: FastifyInstance, options: ConsoleOptions): void {
  const { sessions } = options;
  const session = (request: FastifyRequest): ConsoleSession | undefined => sessions.fromCookie(request.headers.cookie);
  const consoleAccess = { config: { access: 'console' as const } };
  const streams = new Set<FastifyReply>();
  // One snapshot (a journal query, a redaction pass) serves every open stream within a tick.
  let shared: { at: number; text: Promise<string> } | undefined;
  const sharedSnapshot = (): Promise<string> => {
    const now = Date.now();
    if (!shared || now - shared.at >= STREAM_INTERVAL_MS / 2) {
      const text = consoleSnapshot(options.snapshot).then((state) => options.redactor.string(JSON.stringify(state)));
      shared = { at: now, text };
      // A failed snapshot is not reused: the next push asks again.
      text.catch(() => {
        if (shared?.text === text) shared = undefined;
      });
    }
    return shared.text;
  };

  app.get('/console/app.css', async (_request, reply) =>
    reply.headers({ 'content-type': 'text/css; charset=utf-8', 'cache-control': 'no-cache' }).send(APP_CSS),
  );
  app.get('/console/app.js', async (_request, reply) =>
    reply.headers({ 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }).send(APP_JS),
  );
  app.get('/console', async (request, reply) => {
    const current = session(request);
    return reply.headers(PAGE_HEADERS).send(current ? consolePage(current.actor, current.csrf) : loginPage());
  });

  void app.register(async (scope) => {
    // Only the login form posts a urlencoded body, and only here.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4_096 },
      (_r, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.post('/console/login', { config: { acceptsForm: true } }, async (request, reply) => {
      refuseCrossOrigin(request);
      options.throttle.check(request.ip);
      const form = Login.safeParse(request.body);
      if (!form.success || !options.throttle.isAdminKey(form.data.key)) {
        if (form.success) options.throttle.failed(request.ip, 'console');
        return reply
          .code(form.success ? 401 : 400)
          .headers(PAGE_HEADERS)
          .send(loginPage(form.success ? 'Wrong admin key.' : 'Give a name (letters, digits, . _ @ -) and the key.'));
      }
      const created = sessions.create(`${form.data.name} (${request.ip})`);
      // Secure over HTTPS, also when a proxy terminates it (a client that lies here only locks itself out).
      const secure = request.protocol === 'https' || request.headers['x-forwarded-proto'] === 'https' ? '; Secure' : '';
      return reply
        .code(303)
        .header('set-cookie', `${COOKIE}=${created.id}; Path=/console; HttpOnly; SameSite=Strict${secure}`)
        .header('location', '/console')
        .send();
    });
  });

  app.post('/console/logout', consoleAccess, async (request, reply) => {
    const current = guardedSession(request, session);
    sessions.end(current.id);
    return reply
      .header('set-cookie', `${COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0`)
      .send({ ok: true });
  });

  app.get('/console/api/snapshot', consoleAccess, async (request) => {
    const correlationId = z
      .string()
      .max(200)
      .optional()
      .parse((request.query as { correlationId?: unknown }).correlationId);
    return JSON.parse(options.redactor.string(JSON.stringify(await consoleSnapshot(options.snapshot, correlationId))));
  });

  app.post('/console/api/actions', consoleAccess, async (request) => {
    const current = guardedSession(request, session);
    const act = Action.parse(request.body);
    return applyAction(options.actions, act, { actor: current.actor, correlationId: request.correlationId });
  });

  app.get('/console/events', consoleAccess, async (request, reply) => {
    if (streams.size >= MAX_STREAMS)
      throw Errors.bulkheadFull({ message: 'Too many console streams open.', retryAfterMs: 5_000 });
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    streams.add(reply);
    const cookie = request.headers.cookie;
    const push = async (): Promise<void> => {
      // The stream lives only as long as the session: a logout or an expiry ends it.
      if (!sessions.fromCookie(cookie) || reply.raw.destroyed) return void stop();
      if (reply.raw.writableLength > 1_048_576) return void stop(); // a reader that stopped reading
      const text = await sharedSnapshot();
      reply.raw.write(`event: state\ndata: ${text}\n\n`);
    };
    const timer = setInterval(() => void push().catch(() => stop()), STREAM_INTERVAL_MS);
    const stop = (): void => {
      clearInterval(timer);
      streams.delete(reply);
      if (!reply.raw.destroyed) reply.raw.end();
    };
    reply.raw.on('close', stop);
    reply.raw.on('error', stop);
    await push().catch(() => stop());
  });

  app.addHook('onClose', async () => {
    for (const stream of streams) stream.raw.destroy();
  });
}

/**
 * A state-changing console request: the session's CSRF token in `x-csrf-token`, from the console's
 * own origin. A cross-site form cannot set the header (and a JSON body needs CORS, which is not
 * offered); the origin check also stops a same-site page on another port.
 */
function guardedSession(
  request: FastifyRequest,
  session: (request: FastifyRequest) => ConsoleSession | undefined,
): ConsoleSession {
  refuseCrossOrigin(request);
  const current = session(request);
  if (!current || !csrfMatches(current, request.headers['x-csrf-token']))
    throw Errors.forbidden({
      message: 'Missing or wrong CSRF token.',
      userMessage: 'Refused: not sent by the console page.',
    });
  return current;
}

function refuseCrossOrigin(request: FastifyRequest): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin')
    throw Errors.forbidden({
      message: `Cross-site request (${String(site)}).`,
      userMessage: 'Refused: cross-site request.',
    });
  // The host only: behind a proxy that terminates TLS the gateway sees http while the page is https.
  const origin = request.headers.origin;
  if (origin !== undefined && hostOf(origin) !== request.headers.host)
    throw Errors.forbidden({ message: 'Cross-origin request.', userMessage: 'Refused: cross-origin request.' });
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined; // `null` and garbage match no host
  }
}
