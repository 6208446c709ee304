import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Errors } from 'breakwater';
import { applyAction, type ActionDeps, type Subject } from './operator-actions.js';

const Query = z.strictObject({
  status: z.enum(['pending', 'running', 'succeeded', 'failed', 'cancelled']).optional(),
  kind: z.string().max(200).optional(),
  /** The `correlation_id` of an error response (or the `x-request-id` of any). */
  correlationId: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});

/** The admin API: every route declares `access: 'admin'`, checked on the matched route (see access.ts). */
export function registerAdmin(app: FastifyInstance, deps: ActionDeps): void {
  const { journal, upstreams } = deps;
  const admin = { config: { access: 'admin' as const } };
  app.get('/admin/operations', admin, async (request) => ({ data: await journal.query(Query.parse(request.query)) }));
  app.get('/admin/operations/:id', admin, async (request) => {
    const operation = await journal.get((request.params as { id: string }).id);
    if (!operation) throw Errors.notFound({ userMessage: 'No such operation.' });
    return operation;
  });
  app.get('/admin/breakers', admin, async () => ({ data: upstreams.snapshots() }));
  // Journaled with who did it: the admin key's holder, by address.
  const act = (subject: Subject) => async (request: FastifyRequest) => {
    const { key, action } = request.params as { key: string; action: string };
    return applyAction(
      deps,
      { subject, key, action },
      { actor: `admin-api (${request.ip})`, correlationId: request.correlationId },
    );
  };
  app.post('/admin/breakers/:key/:action', admin, act('breaker'));
  app.post('/admin/targets/:key/:action', admin, act('target'));
  app.post('/admin/routes/:key/:action', admin, act('route'));
}
