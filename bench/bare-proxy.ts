// The floors for bench:gateway: the least a Node proxy does per request — parse the JSON body, send
// it upstream with undici on a keep-alive pool, send the parsed answer back; a stream is piped
// through as it comes, unparsed. No journal, no policies, no metrics, no access control. Two
// servers: `fastify` (the stack the gateway is built on) and `node-http` (Node's own http server
// with no framework: what fastify itself costs shows in the difference). Run in its own process:
//   node --import tsx bench/bare-proxy.ts <port> <upstream base URL> [fastify|node-http]
import { createServer } from 'node:http';
import Fastify from 'fastify';
import { Agent, request } from 'undici';

const [port, upstream, server = 'fastify'] = process.argv.slice(2);
const agent = new Agent({ keepAliveTimeout: 10_000, connections: 256 });

/** Sends the request's body upstream, as the sim-model; the answer's body, to read or pipe. */
async function forward(parsed: unknown) {
  const body: Record<string, unknown> = { ...(parsed as Record<string, unknown>), model: 'sim-model' };
  const response = await request(`${upstream}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    dispatcher: agent,
  });
  return { stream: body['stream'] === true, body: response.body };
}

if (server === 'node-http') {
  createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const answer = await forward(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        if (answer.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          answer.body.pipe(res);
          return;
        }
        const text = JSON.stringify(await answer.body.json());
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      })().catch((error: unknown) => {
        res.writeHead(502).end(String(error));
      });
    });
  }).listen(Number(port), '127.0.0.1');
} else {
  const app = Fastify();
  app.post('/v1/chat/completions', async (req, reply) => {
    const answer = await forward(req.body);
    if (answer.stream) return reply.type('text/event-stream').send(answer.body);
    return answer.body.json();
  });
  await app.listen({ port: Number(port), host: '127.0.0.1' });
}
