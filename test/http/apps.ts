// The same small service on Fastify, Express and Hono, so one behaviour suite runs against all three.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { z } from 'zod';
import { createHealth, currentCorrelationId } from 'breakwater';
import { installClientErrorHandler, type HttpIntegrationOptions } from 'breakwater/http';
import { breakwaterExpress } from 'breakwater/express';
import { breakwaterFastify, breakwaterFastifyServerOptions } from 'breakwater/fastify';
import { breakwaterHono, jsonBody } from 'breakwater/hono';

export const SECRETS = {
  providerKey: 'sk-proj-httpSECRETkey0123456789',
  dbPassword: 'db-pass-Secret-42x',
  bearer: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlc2VjcmV0',
};

const Order = z.object({ item: z.string().min(1), quantity: z.number().int().positive(), email: z.string().email() });

/** What the handlers do, shared by the three frameworks. */
export const handlers = {
  ok: () => ({ ok: true }),
  order: (body: unknown) => ({ accepted: Order.parse(body) }),
  upstream: (status: number) => {
    const headers = status === 429 ? { 'retry-after': '7' } : status === 503 ? { 'retry-after': '3' } : {};
    throw Object.assign(new Error(`upstream said ${status}: invalid key ${SECRETS.providerKey}`), {
      status,
      headers,
      url: 'https://api.example.test/v1',
    });
  },
  crash: () => {
    throw new TypeError(
      `Cannot read properties of undefined (connecting to postgres://app:${SECRETS.dbPassword}@db.internal:5432/app with ${SECRETS.bearer})`,
    );
  },
  item: (id: string) => ({ id }),
  /** What code below the handler sees of the request's correlation id (AsyncLocalStorage). */
  whoami: async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return { correlationId: currentCorrelationId() ?? null };
  },
};

export interface RunningApp {
  name: string;
  url: string;
  close(): Promise<void>;
}

const BODY_LIMIT = 16 * 1024;

export async function startFastify(options: HttpIntegrationOptions): Promise<RunningApp> {
  const app = Fastify({ bodyLimit: BODY_LIMIT, ...breakwaterFastifyServerOptions(options) });
  await app.register(breakwaterFastify, options);
  app.get('/ok', async () => handlers.ok());
  app.post('/orders', async (request) => handlers.order(request.body));
  app.get('/upstream/:status', async (request) =>
    handlers.upstream(Number((request.params as { status: string }).status)),
  );
  app.get('/crash', async () => handlers.crash());
  app.get('/items/:id', async (request) => handlers.item((request.params as { id: string }).id));
  app.get('/whoami', async () => handlers.whoami());
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    name: 'fastify',
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    close: () => app.close(),
  };
}

export async function startExpress(options: HttpIntegrationOptions): Promise<RunningApp> {
  const app = express();
  const bw = breakwaterExpress(options);
  app.use(bw.requestContext);
  app.use(express.json({ limit: BODY_LIMIT }));
  bw.routes(app);
  const wrap =
    (fn: (req: express.Request) => unknown) =>
    (req: express.Request, res: express.Response, next: express.NextFunction) => {
      Promise.resolve()
        .then(() => fn(req))
        .then((value) => res.json(value))
        .catch(next);
    };
  app.get(
    '/ok',
    wrap(() => handlers.ok()),
  );
  app.post(
    '/orders',
    wrap((req) => handlers.order(req.body)),
  );
  app.get(
    '/upstream/:status',
    wrap((req) => handlers.upstream(Number(req.params['status']))),
  );
  app.get(
    '/crash',
    wrap(() => handlers.crash()),
  );
  app.get(
    '/items/:id',
    wrap((req) => handlers.item(String(req.params['id']))),
  );
  app.get(
    '/whoami',
    wrap(() => handlers.whoami()),
  );
  app.use(bw.notFound, bw.errorHandler);
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
    installClientErrorHandler(s, options);
  });
  return {
    name: 'express',
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export async function startHono(options: HttpIntegrationOptions): Promise<RunningApp> {
  const app = new Hono<{ Variables: { correlationId: string } }>();
  breakwaterHono(app, options);
  app.get('/ok', (c) => c.json(handlers.ok()));
  app.post('/orders', async (c) => {
    const length = Number(c.req.header('content-length') ?? 0);
    if (length > BODY_LIMIT) {
      const { Errors } = await import('breakwater');
      throw Errors.payloadTooLarge();
    }
    return c.json(handlers.order(await jsonBody(c)));
  });
  app.get('/upstream/:status', (c) => c.json(handlers.upstream(Number(c.req.param('status')))));
  app.get('/crash', (c) => c.json(handlers.crash()));
  app.get('/items/:id', (c) => c.json(handlers.item(c.req.param('id'))));
  app.get('/whoami', async (c) => c.json(await handlers.whoami()));
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(s as import('node:http').Server),
    );
    installClientErrorHandler(s as import('node:http').Server, options);
  });
  return {
    name: 'hono',
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export const FRAMEWORKS = [startFastify, startExpress, startHono];

export function healthFor(redisUp: boolean) {
  return createHealth({
    serviceId: 'orders',
    dependencies: [
      { name: 'postgres', check: async () => undefined },
      {
        name: 'redis',
        critical: false,
        check: async () => {
          if (!redisUp) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });
        },
      },
    ],
  });
}
