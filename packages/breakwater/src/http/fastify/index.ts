// breakwater/fastify: error handler, 404/405, correlation ids, health and metrics (peer: fastify).
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { writeClientError } from '../client-error.js';
import { Errors } from '../../errors/codes.js';
import { HEALTH_CONTENT_TYPE } from '../../observe/health.js';
import { requestScopeFrom, runWithCorrelation } from '../../correlation/correlation.js';
import { errorResponse } from '../error-response.js';
import { CORRELATION_HEADER, isFormBody, isNonJsonBody, type HttpIntegrationOptions } from '../options.js';
import { allowedMethods } from '../route-methods.js';
import { DEFAULT_MAX_JSON_DEPTH, jsonNestingExceeds } from '../json-depth.js';

declare module 'fastify' {
  interface FastifyRequest {
    correlationId: string;
    /**
     * A JSON body's text as the client sent it ('' for any other request): a proxy that changes one
     * field can splice it (`withTopLevel` from breakwater/http) instead of serialising the
     * parsed body again.
     */
    jsonText: string;
  }
  interface FastifyContextConfig {
    /**
     * This route also takes an HTML form body (`application/x-www-form-urlencoded`), e.g. a login
     * form; decided on the matched route, like everything else. Give it its own parser.
     */
    acceptsForm?: boolean;
  }
}

/**
 * Register with `app.register(breakwaterFastify, options)` before your routes. Registered without
 * encapsulation (the `skip-override` symbol), so the handlers apply to the whole app.
 */
export async function breakwaterFastify(app: FastifyInstance, options: HttpIntegrationOptions = {}): Promise<void> {
  const routes: Array<{ method: string; path: string }> = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method: String(method), path: route.url });
  });
  app.decorateRequest('correlationId', '');
  const send = (reply: FastifyReply, request: FastifyRequest, thrown: unknown, extra: Record<string, string> = {}) =>
    sendError(reply, request, thrown, request.correlationId, options, extra);
  app.addHook('onRequest', (request, reply, done) => {
    const scope = requestScopeFrom(request.headers);
    request.correlationId = scope.correlationId;
    void reply.header(CORRELATION_HEADER, scope.correlationId);
    // fastify parses text/plain by default; an endpoint of ours takes JSON or nothing.
    if (
      options.jsonOnly !== false &&
      isNonJsonBody(request.method, request.headers['content-type'], request.headers['content-length']) &&
      !(request.routeOptions.config?.acceptsForm === true && isFormBody(request.headers['content-type']))
    ) {
      void send(reply, request, Errors.unsupportedMediaType());
      return;
    }
    if (options.asyncContext === false) done();
    else runWithCorrelation(scope, () => done());
  });
  boundJsonNesting(app, options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH);
  app.setErrorHandler((error, request, reply) => send(reply, request, error));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allow = allowedMethods(routes, path);
    if (allow.length > 0)
      return send(reply, request, Errors.methodNotAllowed({ details: { allow } }), { allow: allow.join(', ') });
    return send(reply, request, Errors.notFound({ details: { path } }));
  });

  const healthPath = options.healthPath ?? '/health';
  if (options.health) {
    const health = options.health;
    app.get(`${healthPath}/live`, async (_request, reply) =>
      reply.type(HEALTH_CONTENT_TYPE).send(JSON.stringify(health.liveness())),
    );
    app.get(`${healthPath}/ready`, async (_request, reply) => {
      const report = await health.readiness();
      return reply.code(health.httpStatus(report)).type(HEALTH_CONTENT_TYPE).send(JSON.stringify(report));
    });
  }
  if (options.metrics) {
    const metrics = options.metrics;
    app.get('/metrics', async (_request, reply) => {
      const { contentType, body } = await metrics();
      return reply.type(contentType).send(body);
    });
  }
}

(breakwaterFastify as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

/** fastify's own JSON parser (prototype-poisoning checks included), behind a nesting bound. */
function boundJsonNesting(app: FastifyInstance, maxDepth: number): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.decorateRequest('jsonText', '');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonNestingExceeds(body as string, maxDepth))
      return done(
        Errors.malformedBody({ message: `The JSON body is nested deeper than ${maxDepth} levels.` }),
        undefined,
      );
    request.jsonText = body as string;
    return parse(request, body as string, done);
  });
}

/**
 * Options for the Fastify constructor: errors fastify raises before any hook runs (a malformed URL,
 * a bad content-type header) and errors of the HTTP parser itself, in the same format.
 * `Fastify({ ...breakwaterFastifyServerOptions(options) })`.
 */
export function breakwaterFastifyServerOptions(options: HttpIntegrationOptions = {}) {
  return {
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      // Before any hook ran: the correlation id is read here, and echoed here.
      const { correlationId } = requestScopeFrom(request.headers);
      void sendError(reply, request, error, correlationId, options, { [CORRELATION_HEADER]: correlationId });
    },
    clientErrorHandler: (error: Error, socket: Socket) => writeClientError(error, socket, options),
  };
}

/** Renders a thrown value in the configured format and sends it. */
function sendError(
  reply: FastifyReply,
  request: FastifyRequest,
  thrown: unknown,
  correlationId: string,
  options: HttpIntegrationOptions,
  extra: Record<string, string> = {},
) {
  const response = errorResponse(
    thrown,
    { method: request.method, path: request.url.split('?')[0]!, correlationId },
    options,
  );
  return reply
    .code(response.status)
    .headers({ ...response.headers, ...extra })
    .send(response.body);
}
