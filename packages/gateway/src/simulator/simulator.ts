import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { seededRandom } from 'breakwater/testing';
import { anthropicError, answerAnthropic } from './anthropic.js';
import { answerBedrock, bedrockError } from './bedrock.js';
import { answerGemini, geminiError } from './gemini.js';
import { delay, endless, json } from './http.js';
import { ERROR_BODIES, FAULTS, isFault, PERSONAS, type Fault, type Persona, type PersonaAnswer } from './faults.js';

export interface SimulatorOptions {
  host?: string;
  port?: number;
  /** Probability of each fault per request (the rest answer normally). Seeded: the same run twice. */
  faultRates?: Partial<Record<Fault, number>>;
  seed?: number;
  /** Retry-After sent with 429/503/529 (ms). Default 200. */
  retryAfterMs?: number;
  /** Delay between streamed tokens (ms). Default 2. */
  tokenDelayMs?: number;
  /** Delay for slow_headers / slow_body (ms). Default 1,500. */
  slowMs?: number;
  /** Chunks sent before cut_stream / stream_error. Default 3. */
  chunksBeforeFault?: number;
  /** Answer faults in this provider's own words (see PERSONAS). Default: OpenAI's. */
  persona?: Persona;
  /** The assistant's answer (streamed word by word). */
  replyText?: string;
}

export interface SimulatorStats {
  received: number;
  byFault: Partial<Record<Fault, number>>;
  byPath: Record<string, number>;
  /** Authorization headers seen, the last KEPT (to prove which key the gateway used). */
  authorizations: string[];
  /** `x-request-id` headers seen, the last KEPT ('' for a request without one). */
  requestIds: string[];
  /** Request bodies seen, the last KEPT. */
  lastBodies: unknown[];
}

export interface Simulator {
  url: string;
  port: number;
  /** Forces the next requests' faults, in order (tests); then the seeded rates apply again. */
  script(...faults: Fault[]): void;
  /** While down, every request (models included) answers 503: an outage that probes can see end. */
  setDown(down: boolean): void;
  /** Drops faults scripted but not used yet. */
  clearScript(): void;
  stats(): SimulatorStats;
  resetStats(): void;
  close(): Promise<void>;
}

/** Bedrock's Converse paths: the model and the method. */
const BEDROCK_PATH = /^\/model\/([^/]+)\/(converse|converse-stream)$/;

/** Gemini's generateContent paths: the model and the method. */
const GEMINI_PATH = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

/** What the simulated assistant answers unless told otherwise (`replyText`, `--reply`). */
export const DEFAULT_REPLY = 'Breakwater classifies every failure once and decides by category.';

/**
 * A simulated upstream that speaks three protocols at once — OpenAI's (`/v1/chat/completions`,
 * `/v1/embeddings`), Anthropic's Messages API (`/v1/messages`) and Gemini's generateContent
 * (`/v1beta/models/{model}:generateContent`) and Bedrock's Converse (`/model/{id}/converse`, AWS event
 * stream) — each fault in the protocol's own words. Faults are seeded and scriptable: status codes with Retry-After,
 * quota 429, 529, resets, hangs, slow headers, slow body, cut streams, malformed JSON, empty
 * choices, errors inside a stream, and counters of what it received. A fault can also be forced
 * per request with the `x-simulate-fault` header.
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const random = seededRandom(options.seed ?? 42);
  const REPLY = options.replyText ?? DEFAULT_REPLY;
  const queue: Fault[] = [];
  const sockets = new Set<Socket>();
  let stats = emptyStats();
  const retryAfterMs = options.retryAfterMs ?? 200;

  let down = false;
  const pick = (req: IncomingMessage): Fault => {
    if (down) return 'unavailable';
    const forced = req.headers['x-simulate-fault'];
    if (isFault(forced)) return forced;
    const scripted = queue.shift();
    if (scripted) return scripted;
    let roll = random();
    for (const fault of FAULTS) {
      const rate = options.faultRates?.[fault] ?? 0;
      if (roll < rate) return fault;
      roll -= rate;
    }
    return 'ok';
  };

  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path === '/_simulator/stats') return json(res, 200, stats);
      const fault = pick(req);
      stats.received++;
      stats.byFault[fault] = (stats.byFault[fault] ?? 0) + 1;
      stats.byPath[path] = (stats.byPath[path] ?? 0) + 1;
      // Whichever header the protocol carries its key in: OpenAI's Bearer, Anthropic's, Google's.
      keepLast(
        stats.authorizations,
        String(req.headers.authorization ?? req.headers['x-api-key'] ?? req.headers['x-goog-api-key'] ?? ''),
      );
      keepLast(stats.requestIds, String(req.headers['x-request-id'] ?? ''));
      let body: Record<string, unknown>;
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      } catch {
        return json(res, 400, {
          error: {
            message: 'We could not parse the JSON body of your request.',
            type: 'invalid_request_error',
            param: null,
            code: null,
          },
        });
      }
      keepLast(stats.lastBodies, body);
      void answer(req, res, path, body, fault);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const answer = async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    body: Record<string, unknown>,
    fault: Fault,
  ): Promise<void> => {
    const gemini = GEMINI_PATH.exec(path);
    const bedrock = BEDROCK_PATH.exec(path);
    const inPath = gemini ?? bedrock;
    const model = inPath
      ? decodeURIComponent(inPath[1]!)
      : typeof body['model'] === 'string'
        ? body['model']
        : 'sim-model';
    if ((path === '/v1/models' || path === '/v1beta/models') && req.method === 'GET' && !down) {
      return json(res, 200, {
        object: 'list',
        data: [{ id: model, object: 'model', created: 1, owned_by: 'simulator' }],
      });
    }
    if (gemini || bedrock || path === '/v1/messages') {
      const native = gemini
        ? geminiError(fault, retryAfterMs)
        : bedrock
          ? bedrockError(fault)
          : anthropicError(fault, retryAfterMs);
      if (native) return json(res, native.status, native.body, native.headers);
      if (fault === 'reset') return void req.socket.destroy();
      if (fault === 'hang') return;
      if (fault === 'slow_headers') await delay(options.slowMs ?? 1_500);
      const ctx = {
        res,
        body,
        model,
        id: `sim${stats.received}`,
        reply: REPLY,
        retryAfterMs,
        tokenDelayMs: options.tokenDelayMs ?? 2,
        slowMs: options.slowMs ?? 1_500,
        chunksBeforeFault: options.chunksBeforeFault ?? 3,
      };
      if (bedrock) return answerBedrock(ctx, fault, bedrock[2] === 'converse-stream');
      return gemini ? answerGemini(ctx, fault, gemini[2] === 'streamGenerateContent') : answerAnthropic(ctx, fault);
    }
    const personaAnswer = options.persona
      ? (PERSONAS[options.persona] as Partial<Record<Fault, PersonaAnswer>>)[fault]
      : undefined;
    if (personaAnswer) return json(res, personaAnswer.status, personaAnswer.body, personaAnswer.headers ?? {});
    const error = ERROR_BODIES[fault];
    if (error) {
      const headers: Record<string, string> =
        error.status === 429 || error.status >= 503
          ? { 'retry-after-ms': String(retryAfterMs), 'retry-after': String(Math.ceil(retryAfterMs / 1000)) }
          : {};
      return json(
        res,
        error.status,
        { error: { message: error.message, type: error.type, param: error.param ?? null, code: error.code } },
        headers,
      );
    }
    if (fault === 'reset') return void req.socket.destroy();
    if (fault === 'hang') return;
    if (fault === 'slow_headers') await delay(options.slowMs ?? 1_500);
    if (path === '/v1/embeddings') return json(res, 200, embeddings(model, body['input']));
    if (path !== '/v1/chat/completions')
      return json(res, 404, {
        error: { message: `Unknown path ${path}`, type: 'invalid_request_error', param: null, code: 'unknown_url' },
      });
    if (body['stream'] === true)
      return stream(
        res,
        model,
        fault,
        prefillOf(body),
        (body['stream_options'] as { include_usage?: unknown } | undefined)?.include_usage === true,
      );
    if (fault === 'malformed_json')
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end('{"id":"chatcmpl-sim","choices":[{"message":');
    const completion = {
      id: `chatcmpl-sim-${stats.received}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices:
        fault === 'empty_choices'
          ? []
          : [
              {
                index: 0,
                message: { role: 'assistant', content: REPLY, refusal: null },
                finish_reason: 'stop',
                logprobs: null,
              },
            ],
      usage: { prompt_tokens: 12, completion_tokens: 11, total_tokens: 23 },
    };
    if (fault === 'endless_body') return endless(res);
    if (fault === 'slow_body') {
      const text = JSON.stringify(completion);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(text.slice(0, 10));
      await delay(options.slowMs ?? 1_500);
      return void res.end(text.slice(10));
    }
    json(res, 200, completion);
  };

  const stream = async (
    res: ServerResponse,
    model: string,
    fault: Fault,
    prefill: string,
    includeUsage: boolean,
  ): Promise<void> => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const id = `chatcmpl-sim-${stats.received}`;
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    res.write(chunk({ role: 'assistant', content: '' }));
    if (fault === 'endless_body') return endless(res, chunk({ content: 'more ' }));
    // An assistant prefill that the reply starts with is continued: only the rest is streamed.
    const words = (REPLY.startsWith(prefill) ? REPLY.slice(prefill.length) : REPLY).split(/(?<= )/);
    const faultAt = options.chunksBeforeFault ?? 3;
    const limit =
      fault === 'cut_stream' || fault === 'stream_error' || fault === 'stall_stream' ? faultAt : words.length;
    for (let i = 0; i < limit; i++) {
      const slow = fault === 'slow_body' || (fault === 'slow_first_token' && i === 0);
      await delay(slow ? (options.slowMs ?? 1_500) : (options.tokenDelayMs ?? 2));
      if (res.destroyed) return;
      if (fault === 'malformed_event' && i === faultAt)
        res.write('data: {"choices": [{"delta": {"content": "oops"\n\n');
      res.write(chunk({ content: words[i] }));
    }
    if (fault === 'cut_stream') return void res.socket?.destroy();
    if (fault === 'stall_stream') return; // the connection stays open, silent
    if (fault === 'stream_error') {
      res.write(
        `data: ${JSON.stringify({ error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } })}\n\n`,
      );
      return void res.end();
    }
    res.write(chunk({}, 'stop'));
    // As OpenAI does with stream_options.include_usage: a last chunk with no choices and the usage.
    if (includeUsage)
      res.write(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1, model, choices: [], usage: { prompt_tokens: 12, completion_tokens: words.length, total_tokens: 12 + words.length } })}\n\n`,
      );
    if (fault === 'no_done') return void res.end();
    res.end('data: [DONE]\n\n');
  };

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/v1`,
    port,
    script: (...faults) => void queue.push(...faults),
    setDown: (value) => void (down = value),
    clearScript: () => void queue.splice(0),
    stats: () => structuredClone(stats),
    resetStats: () => void (stats = emptyStats()),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The content of a final assistant message (a prefill to continue), or ''. */
function prefillOf(body: Record<string, unknown>): string {
  const messages = Array.isArray(body['messages'])
    ? (body['messages'] as Array<{ role?: unknown; content?: unknown }>)
    : [];
  const last = messages.at(-1);
  return last?.role === 'assistant' && typeof last.content === 'string' ? last.content : '';
}

function emptyStats(): SimulatorStats {
  return { received: 0, byFault: {}, byPath: {}, authorizations: [], requestIds: [], lastBodies: [] };
}

/**
 * What the stats keep of each request: the last few, so a simulator that serves for days (the
 * built-in upstream of `breakwater serve` with no key, a benchmark) does not grow with its traffic.
 */
const KEPT = 20;

function keepLast<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > KEPT) list.shift();
}

function embeddings(model: string, input: unknown) {
  const inputs = Array.isArray(input) ? input : [input];
  return {
    object: 'list',
    data: inputs.map((text, index) => ({
      object: 'embedding',
      index,
      embedding: Array.from({ length: 8 }, (_, i) => Math.sin(String(text).length + i)),
    })),
    model,
    usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
  };
}
