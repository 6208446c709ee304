// breakwater/hono: middleware for correlation ids, 404/405 and errors, health and metrics (peer: hono).
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { Errors } from '../../errors/codes.js';
import { HEALTH_CONTENT_TYPE } from '../../observe/health.js';
import { requestScopeFrom, runWithCorrelation } from '../../correlation/correlation.js';
import { errorResponse } from '../error-response.js';
import { CORRELATION_HEADER, isNonJsonBody, type HttpIntegrationOptions } from '../options.js';
import { allowedMethods } from '../route-methods.js';

type Env = { Variables: { correlationId: string } };

/**
 * `breakwaterHono(app, options)` installs everything on a Hono app: call it before your routes.
 * Read request bodies with `jsonBody(c)` so malformed JSON is the caller's 400, not a 500.
 */
export function breakwaterHono<E extends Env>(app: Hono<E>, options: HttpIntegrationOptions = {}): void {
  const render = (c: Context, thrown: unknown, extra: Record<string, string> = {}): Response => {
    const correlationId = (c.get('correlationId') as string | undefined) ?? undefined;
    const rendered = errorResponse(
      thrown,
      { method: c.req.method, path: c.req.path, ...(correlationId ? { correlationId } : {}) },
      options,
    );
    return new Response(rendered.body, {
      status: rendered.status,
      headers: { ...rendered.headers, ...extra, ...(correlationId ? { [CORRELATION_HEADER]: correlationId } : {}) },
    });
  };
  const requestContext: MiddlewareHandler<E> = async (c, next) => {
    const scope = requestScopeFrom(c.req.raw.headers);
    c.set('correlationId', scope.correlationId);
    if (
      options.jsonOnly !== false &&
      isNonJsonBody(c.req.method, c.req.header('content-type'), c.req.header('content-length'))
    ) {
      return render(c, Errors.unsupportedMediaType());
    }
    await (options.asyncContext === false ? next() : runWithCorrelation(scope, () => next()));
    c.header(CORRELATION_HEADER, scope.correlationId);
    return undefined;
  };
  app.use('*', requestContext);
  app.onError((error, c) => render(c, error));
  app.notFound((c) => {
    const routes = app.routes.filter((r) => r.method !== 'ALL');
    const allow = allowedMethods(routes, c.req.path);
    if (allow.length > 0)
      return render(c, Errors.methodNotAllowed({ details: { allow } }), { allow: allow.join(', ') });
    return render(c, Errors.notFound({ details: { path: c.req.path } }));
  });
  const healthPath = options.healthPath ?? '/health';
  const { health, metrics } = options;
  if (health) {
    app.get(`${healthPath}/live`, (c) =>
      c.body(JSON.stringify(health.liveness()), 200, { 'content-type': HEALTH_CONTENT_TYPE }),
    );
    app.get(`${healthPath}/ready`, async (c) => {
      const report = await health.readiness();
      return c.body(JSON.stringify(report), health.httpStatus(report) as 200, { 'content-type': HEALTH_CONTENT_TYPE });
    });
  }
  if (metrics) {
    app.get('/metrics', async (c) => {
      const { contentType, body } = await metrics();
      return c.body(body, 200, { 'content-type': contentType });
    });
  }
}

/** The request's JSON body; malformed JSON is the caller's VALIDATION_MALFORMED_BODY (400). */
export async function jsonBody<T = unknown>(c: Context): Promise<T> {
  const text = await c.req.text();
  try {
    return (text === '' ? {} : JSON.parse(text)) as T;
  } catch (error) {
    throw Errors.malformedBody({ message: 'The request body is not valid JSON.', cause: error });
  }
}
