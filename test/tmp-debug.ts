import { connect } from 'node:net';
import pino from 'pino';
import { parseConfig } from '../packages/gateway/src/config/load.js';
import { createGateway } from '../packages/gateway/src/server/gateway.js';
import { startSimulator } from '../packages/gateway/src/simulator/simulator.js';
import { httpRequest } from './support/raw-http.js';
const simulator = await startSimulator({ tokenDelayMs: 1 });
const gateway = await createGateway(
  parseConfig({
    providers: { sim: { baseUrl: simulator.url } },
    routes: { m: { targets: [{ provider: 'sim', model: 'x' }] } },
    server: { slowClientTimeoutMs: 300, maxUpstreamResponseBytes: 256 * 1024 * 1024 },
    journal: { memory: true },
  }),
  { env: {}, logger: pino({ level: 'debug' }) },
);
await gateway.app.listen({ port: 0, host: '127.0.0.1' });
const port = (gateway.app.server.address() as any).port;
simulator.script('endless_body');
const socket = connect(port, '127.0.0.1');
let n = 0;
socket.on('data', (c) => {
  n += c.length;
});
socket.on('close', () => console.log('closed', n));
socket.write(
  httpRequest(
    'POST',
    '/v1/chat/completions',
    {},
    JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  ),
);
await new Promise((r) => socket.once('data', r));
socket.pause();
setInterval(() => console.log('client got', n, simulator.stats().byFault), 1000).unref();
await new Promise((r) => setTimeout(r, 4000));
process.exit(0);
