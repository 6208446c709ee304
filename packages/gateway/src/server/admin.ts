import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Errors, type Journal } from 'breakwater';
import type { Upstreams } from './upstreams.js';

const Query = z.strictObject({
  status: z.enum(['pending', 'running', 'succeeded', 'failed', 'cancelled']).optional(),
  kind: z.string().max(200).optional(),
  /** The `correlation_id` of an error response (or the `x-request-id` of any). */
  correlationId: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});

/** The admin API: every route declares `access: 'admin'`, checked on the matched route (see access.ts). */
export function registerAdmin(app: FastifyInstance, journal: Journal<unknown>, upstreams: Upstreams): void {
  const admin = { config: { access: 'admin' as const } };
  app.get('/admin/operations', admin, async (request) => ({ data: await journal.query(Query.parse(request.query)) }));
  app.get('/admin/operations/:id', admin, async (request) => {
    const operation = await journal.get((request.params as { id: string }).id);
    if (!operation) throw Errors.notFound({ userMessage: 'No such operation.' });
    return operation;
  });
  app.get('/admin/breakers', admin, async () => ({ data: upstreams.snapshots() }));
  // reset: closed, counters cleared; isolate: open until reset (e.g. during a provider incident).
  app.post('/admin/breakers/:key/:action', admin, async (request) => {
    const { key, action } = request.params as { key: string; action: string };
    if (action !== 'reset' && action !== 'isolate')
      throw Errors.notFound({ userMessage: 'Breaker actions are reset and isolate.', details: { action } });
    if (!upstreams.keys().includes(key))
      throw Errors.notFound({ userMessage: `No upstream ${key}.`, details: { known: upstreams.keys() } });
    const { breaker } = upstreams.get(key);
    if (action === 'reset') breaker.reset(key);
    else breaker.isolate(key);
    return breaker.snapshot(key);
  });
}
