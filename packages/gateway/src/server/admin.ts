import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Errors, type CircuitSnapshot, type Journal } from 'breakwater';

const Query = z.object({
  status: z.enum(['pending', 'running', 'succeeded', 'failed', 'cancelled']).optional(),
  kind: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});

/** The admin API: every route declares `access: 'admin'`, checked on the matched route (see access.ts). */
export function registerAdmin(
  app: FastifyInstance,
  journal: Journal<unknown>,
  breakers: () => CircuitSnapshot[],
): void {
  const admin = { config: { access: 'admin' as const } };
  app.get('/admin/operations', admin, async (request) => ({ data: await journal.query(Query.parse(request.query)) }));
  app.get('/admin/operations/:id', admin, async (request) => {
    const operation = await journal.get((request.params as { id: string }).id);
    if (!operation) throw Errors.notFound({ userMessage: 'No such operation.' });
    return operation;
  });
  app.get('/admin/breakers', admin, async () => ({ data: breakers() }));
}
