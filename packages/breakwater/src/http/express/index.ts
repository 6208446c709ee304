// breakwater/express: middleware for correlation ids, 404/405 and errors, health and metrics (peer: express).
import type { Express, NextFunction, Request, Response, Router } from 'express';
import { Errors } from '../../errors/codes.js';
import { HEALTH_CONTENT_TYPE } from '../../observe/health.js';
import { requestScopeFrom, runWithCorrelation } from '../../correlation/correlation.js';
import { errorResponse } from '../error-response.js';
import { CORRELATION_HEADER, isNonJsonBody, type HttpIntegrationOptions } from '../options.js';
import { allowedMethods } from '../route-methods.js';

/**
 * `const bw = breakwaterExpress(options)`; then `app.use(bw.requestContext)` first, your routes (and
 * `express.json()`), and `app.use(bw.notFound, bw.errorHandler)` last. `bw.routes(app)` adds health
 * and metrics endpoints.
 */
export function breakwaterExpress(options: HttpIntegrationOptions = {}) {
  const send = (request: Request, response: Response, thrown: unknown, extra: Record<string, string> = {}): void => {
    const rendered = errorResponse(
      thrown,
      {
        method: request.method,
        path: request.path,
        correlationId: response.locals['correlationId'] as string | undefined,
      },
      options,
    );
    response
      .status(rendered.status)
      .set({ ...rendered.headers, ...extra })
      .send(rendered.body);
  };

  return {
    requestContext(request: Request, response: Response, next: NextFunction): void {
      const scope = requestScopeFrom(request.headers);
      response.locals['correlationId'] = scope.correlationId;
      response.setHeader(CORRELATION_HEADER, scope.correlationId);
      if (
        options.jsonOnly !== false &&
        isNonJsonBody(request.method, request.headers['content-type'], request.headers['content-length'])
      ) {
        send(request, response, Errors.unsupportedMediaType());
        return;
      }
      if (options.asyncContext === false) next();
      else runWithCorrelation(scope, () => next());
    },
    notFound(request: Request, response: Response): void {
      const app = request.app as Express & { router?: Router; _router?: Router };
      const allow = allowedMethods(routeTable(app.router ?? app._router), request.path);
      if (allow.length > 0)
        send(request, response, Errors.methodNotAllowed({ details: { allow } }), { allow: allow.join(', ') });
      else send(request, response, Errors.notFound({ details: { path: request.path } }));
    },
    // Express recognises error middleware by its four parameters.
    errorHandler(error: unknown, request: Request, response: Response, next: NextFunction): void {
      if (response.headersSent) return next(error);
      send(request, response, error);
    },
    routes(app: Express, healthPath = options.healthPath ?? '/health'): void {
      const { health, metrics } = options;
      if (health) {
        app.get(
          `${healthPath}/live`,
          (_request, response) => void response.type(HEALTH_CONTENT_TYPE).send(JSON.stringify(health.liveness())),
        );
        app.get(`${healthPath}/ready`, (_request, response, next) => {
          health
            .readiness()
            .then(
              (report) =>
                void response.status(health.httpStatus(report)).type(HEALTH_CONTENT_TYPE).send(JSON.stringify(report)),
            )
            .catch(next);
        });
      }
      if (metrics) {
        app.get('/metrics', (_request, response, next) => {
          metrics()
            .then(({ contentType, body }) => void response.type(contentType).send(body))
            .catch(next);
        });
      }
    },
  };
}

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}

function routeTable(router: Router | undefined): Array<{ method: string; path: string }> {
  const stack = ((router as unknown as { stack?: Layer[] })?.stack ?? []) as Layer[];
  return stack.flatMap((layer) =>
    layer.route
      ? [layer.route.path].flat().flatMap((path) =>
          Object.keys(layer.route!.methods)
            .filter((m) => m !== '_all')
            .map((method) => ({ method: method.toUpperCase(), path })),
        )
      : [],
  );
}
