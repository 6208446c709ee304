import { argumentsFor, delay, endless, json, replyWords, type AnswerContext } from './http.js';
import type { Fault } from './faults.js';

interface Content {
  role?: string;
  parts?: Array<Record<string, unknown>>;
}

const error = (code: number, status: string, message: string, details?: unknown[]) => ({
  error: { code, message, status, ...(details ? { details } : {}) },
});

/**
 * Faults in Gemini's own words (ai.google.dev "Troubleshooting"): `{error: {code, message, status}}`
 * with Google RPC status names; a bad key is a 400 whose ErrorInfo says API_KEY_INVALID; rate
 * limits carry a RetryInfo delay instead of a Retry-After header.
 */
export function geminiError(
  fault: Fault,
  retryAfterMs: number,
): { status: number; body: unknown; headers?: Record<string, string> } | undefined {
  const retry = {
    '@type': 'type.googleapis.com/google.rpc.RetryInfo',
    retryDelay: `${Math.max(1, Math.ceil(retryAfterMs / 1000))}s`,
  };
  switch (fault) {
    case 'rate_limit':
    case 'quota':
    case 'tpm_too_large':
      return {
        status: 429,
        body: error(
          429,
          'RESOURCE_EXHAUSTED',
          'You exceeded your current quota, please check your plan and billing details.',
          [retry],
        ),
      };
    case 'overloaded':
    case 'unavailable':
      return { status: 503, body: error(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.') };
    case 'server_error':
      return { status: 500, body: error(500, 'INTERNAL', 'An internal error has occurred.') };
    case 'context_length':
      return {
        status: 400,
        body: error(
          400,
          'INVALID_ARGUMENT',
          'The input token count (1048577) exceeds the maximum number of tokens allowed (1048576).',
        ),
      };
    case 'bad_request':
      return {
        status: 400,
        body: error(400, 'INVALID_ARGUMENT', "Invalid value at 'generation_config.temperature' (TYPE_FLOAT), 5"),
      };
    case 'unauthorized':
      return {
        status: 400,
        body: error(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' },
        ]),
      };
    default:
      return undefined;
  }
}

/** The function to call, unless the last turn answers one or tool_config says NONE. */
function toolToCall(body: Record<string, unknown>): { name: string; parametersJsonSchema?: unknown } | undefined {
  const declarations = (
    body['tools'] as Array<{ functionDeclarations?: Array<{ name: string }> }> | undefined
  )?.flatMap((tool) => tool.functionDeclarations ?? []);
  const config = (body['toolConfig'] as { functionCallingConfig?: { mode?: string; allowedFunctionNames?: string[] } })
    ?.functionCallingConfig;
  if (!declarations?.length || config?.mode === 'NONE') return undefined;
  const last = (body['contents'] as Content[]).at(-1);
  if (last?.parts?.some((part) => part['functionResponse'])) return undefined;
  return declarations.find((d) => config?.allowedFunctionNames?.includes(d.name)) ?? declarations[0];
}

const usage = (output: number) => ({
  promptTokenCount: 12,
  candidatesTokenCount: output,
  totalTokenCount: 12 + output,
});

/**
 * Gemini's generateContent API: `POST /v1beta/models/{model}:generateContent`, and
 * `:streamGenerateContent?alt=sse` (each event a whole response; no [DONE]).
 */
export async function answerGemini(ctx: AnswerContext, fault: Fault, stream: boolean): Promise<void> {
  const { res, body, model, id } = ctx;
  const tool = toolToCall(body);
  const words = replyWords(ctx.reply, '');
  const response = (parts: unknown[], finishReason?: string, output?: number) => ({
    candidates: [{ content: { parts, role: 'model' }, ...(finishReason ? { finishReason } : {}), index: 0 }],
    ...(output !== undefined ? { usageMetadata: usage(output) } : {}),
    modelVersion: model,
    responseId: id,
  });
  const call = tool
    ? { functionCall: { name: tool.name, args: argumentsFor(tool.parametersJsonSchema) }, thoughtSignature: 'c2ln' }
    : undefined;
  if (fault === 'content_filter') {
    const blocked = {
      promptFeedback: { blockReason: 'SAFETY' },
      usageMetadata: usage(0),
      modelVersion: model,
      responseId: id,
    };
    if (!stream) return json(res, 200, blocked);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    return void res.end(`data: ${JSON.stringify(blocked)}\r\n\r\n`);
  }
  if (stream) return streamGemini(ctx, fault, call ? [call] : words, response);
  if (fault === 'endless_body') return endless(res);
  if (fault === 'empty_choices')
    return json(res, 200, { candidates: [], usageMetadata: usage(0), modelVersion: model });
  if (fault === 'malformed_json')
    return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"candidates":[{"content":');
  const answer = response(call ? [call] : [{ text: words.join('') }], 'STOP', words.length);
  if (fault === 'slow_body') {
    const text = JSON.stringify(answer);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(text.slice(0, 10));
    await delay(ctx.slowMs);
    return void res.end(text.slice(10));
  }
  json(res, 200, answer);
}

async function streamGemini(
  ctx: AnswerContext,
  fault: Fault,
  pieces: Array<string | Record<string, unknown>>,
  response: (parts: unknown[], finishReason?: string, output?: number) => unknown,
): Promise<void> {
  const { res } = ctx;
  const event = (data: unknown) => `data: ${JSON.stringify(data)}\r\n\r\n`;
  const part = (piece: string | Record<string, unknown>) => (typeof piece === 'string' ? { text: piece } : piece);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  if (fault === 'endless_body') return endless(res, event(response([{ text: 'more ' }])));
  const limit = ['cut_stream', 'stream_error', 'stall_stream'].includes(fault) ? ctx.chunksBeforeFault : pieces.length;
  for (let i = 0; i < limit && i < pieces.length - 1; i++) {
    const slow = fault === 'slow_body' || (fault === 'slow_first_token' && i === 0);
    await delay(slow ? ctx.slowMs : ctx.tokenDelayMs);
    if (res.destroyed) return;
    if (fault === 'malformed_event' && i === ctx.chunksBeforeFault)
      res.write('data: {"candidates": [{"content":\r\n\r\n');
    res.write(event(response([part(pieces[i]!)])));
  }
  if (fault === 'cut_stream') return void res.socket?.destroy();
  if (fault === 'stall_stream') return;
  if (fault === 'stream_error')
    return void res.end(event(error(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.')));
  await delay(ctx.tokenDelayMs);
  // The last event carries the last piece, the finish reason and the usage.
  res.end(event(response([part(pieces.at(-1)!)], 'STOP', pieces.length)));
}
