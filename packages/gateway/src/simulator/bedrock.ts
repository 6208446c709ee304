import type { ServerResponse } from 'node:http';
import { encodeEventStreamMessage } from '../upstream/aws-eventstream.js';
import { argumentsFor, delay, endless, json, replyWords, type AnswerContext } from './http.js';
import type { Fault } from './faults.js';

interface Message {
  role?: string;
  content?: Array<Record<string, unknown>>;
}

/**
 * Faults in Bedrock's own words (Converse API errors): the status, the error type in
 * `x-amzn-errortype` (the AWS SDK builds its exception class from it) and `{ message }`.
 */
export function bedrockError(
  fault: Fault,
): { status: number; body: unknown; headers?: Record<string, string> } | undefined {
  const error = (status: number, type: string, message: string) => ({
    status,
    headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` },
    body: { message },
  });
  switch (fault) {
    case 'rate_limit':
    case 'quota':
    case 'tpm_too_large':
      return error(429, 'ThrottlingException', 'Too many requests, please wait before trying again.');
    case 'overloaded':
    case 'unavailable':
      return error(503, 'ServiceUnavailableException', 'Bedrock is unable to process your request.');
    case 'server_error':
      return error(500, 'InternalServerException', 'The server encountered an internal error.');
    case 'context_length':
      return error(400, 'ValidationException', 'Input is too long for requested model.');
    case 'bad_request':
      return error(
        400,
        'ValidationException',
        "1 validation error detected: Value '5.0' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1",
      );
    case 'unauthorized':
      return error(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    default:
      return undefined;
  }
}

/** The tool to call, unless the last turn already answers one. */
function toolToCall(body: Record<string, unknown>): { name: string; schema?: unknown } | undefined {
  const config = body['toolConfig'] as
    | {
        tools?: Array<{ toolSpec?: { name: string; inputSchema?: { json?: unknown } } }>;
        toolChoice?: { tool?: { name?: string } };
      }
    | undefined;
  const specs = (config?.tools ?? []).flatMap((tool) => (tool.toolSpec ? [tool.toolSpec] : []));
  if (specs.length === 0) return undefined;
  const last = (body['messages'] as Message[] | undefined)?.at(-1);
  if (last?.content?.some((block) => block['toolResult'])) return undefined;
  const spec = specs.find((s) => s.name === config?.toolChoice?.tool?.name) ?? specs[0]!;
  return { name: spec.name, schema: spec.inputSchema?.json };
}

/** Bedrock's Converse API: `POST /model/{id}/converse`, and `/converse-stream` in AWS's event-stream framing. */
export async function answerBedrock(ctx: AnswerContext, fault: Fault, stream: boolean): Promise<void> {
  const { res, body, id } = ctx;
  const tool = toolToCall(body);
  const words = replyWords(ctx.reply, '');
  const stopReason = fault === 'content_filter' ? 'content_filtered' : tool ? 'tool_use' : 'end_turn';
  if (stream) return streamBedrock(ctx, fault, words, tool, stopReason);
  if (fault === 'endless_body') return endless(res);
  const content = tool
    ? [{ toolUse: { toolUseId: `tooluse_${id}`, name: tool.name, input: argumentsFor(tool.schema) } }]
    : [{ text: words.join('') }];
  const answer = {
    output: { message: { role: 'assistant', content: fault === 'content_filter' ? [] : content } },
    stopReason,
    usage: { inputTokens: 12, outputTokens: words.length, totalTokens: 12 + words.length },
    metrics: { latencyMs: 42 },
  };
  if (fault === 'empty_choices') return json(res, 200, { stopReason, usage: answer.usage });
  if (fault === 'malformed_json')
    return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"output":{"message":');
  json(res, 200, answer);
}

function frame(type: string, payload: unknown): Buffer {
  return encodeEventStreamMessage(
    { ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' },
    JSON.stringify(payload),
  );
}

async function streamBedrock(
  ctx: AnswerContext,
  fault: Fault,
  words: string[],
  tool: { name: string; schema?: unknown } | undefined,
  stopReason: string,
): Promise<void> {
  const { res, id } = ctx;
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
  res.write(frame('messageStart', { role: 'assistant' }));
  if (fault === 'endless_body')
    return endless(res, frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'more ' } }));
  const args = tool ? JSON.stringify(argumentsFor(tool.schema)) : '';
  const pieces = tool
    ? [args.slice(0, Math.ceil(args.length / 2)), args.slice(Math.ceil(args.length / 2))].filter(Boolean)
    : words;
  if (tool)
    res.write(
      frame('contentBlockStart', {
        contentBlockIndex: 0,
        start: { toolUse: { toolUseId: `tooluse_${id}`, name: tool.name } },
      }),
    );
  const limit = ['cut_stream', 'stream_error', 'stall_stream'].includes(fault) ? ctx.chunksBeforeFault : pieces.length;
  for (let i = 0; i < limit && i < pieces.length; i++) {
    const slow = fault === 'slow_body' || (fault === 'slow_first_token' && i === 0);
    await delay(slow ? ctx.slowMs : ctx.tokenDelayMs);
    if (res.destroyed) return;
    const delta = tool ? { toolUse: { input: pieces[i] } } : { text: pieces[i] };
    res.write(frame('contentBlockDelta', { contentBlockIndex: 0, delta }));
  }
  if (fault === 'cut_stream') return void res.socket?.destroy();
  if (fault === 'stall_stream') return;
  if (fault === 'stream_error')
    return void endWith(res, exception('serviceUnavailableException', 'Bedrock is unable to process your request.'));
  res.write(frame('contentBlockStop', { contentBlockIndex: 0 }));
  res.write(frame('messageStop', { stopReason }));
  res.end(
    frame('metadata', {
      usage: { inputTokens: 12, outputTokens: pieces.length, totalTokens: 12 + pieces.length },
      metrics: { latencyMs: 42 },
    }),
  );
}

function exception(type: string, message: string): Buffer {
  return encodeEventStreamMessage(
    { ':exception-type': type, ':content-type': 'application/json', ':message-type': 'exception' },
    JSON.stringify({ message }),
  );
}

function endWith(res: ServerResponse, last: Buffer): void {
  res.end(last);
}
