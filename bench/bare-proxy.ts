// The floor for bench:gateway: the least a Node proxy on this stack does per request — fastify
// parses the JSON body, undici sends it upstream on a keep-alive pool, fastify sends the parsed
// answer back; a stream is piped through as it comes, unparsed. No journal, no policies, no
// metrics, no access control. Run in its own process:
//   node --import tsx bench/bare-proxy.ts <port> <upstream base URL>
import Fastify from 'fastify';
import { Agent, request } from 'undici';

const [port, upstream] = process.argv.slice(2);
const agent = new Agent({ keepAliveTimeout: 10_000, connections: 256 });
const app = Fastify();
app.post('/v1/chat/completions', async (req, reply) => {
  const body: Record<string, unknown> = { ...(req.body as Record<string, unknown>), model: 'sim-model' };
  const response = await request(`${upstream}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    dispatcher: agent,
  });
  if (body['stream'] === true) return reply.type('text/event-stream').send(response.body);
  return response.body.json();
});
await app.listen({ port: Number(port), host: '127.0.0.1' });
