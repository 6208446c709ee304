import { argumentsFor, delay, endless, json, replyWords, type AnswerContext } from './http.js';
import type { Fault } from './faults.js';

interface Message {
  role?: string;
  content?: unknown;
}

const error = (type: string, message: string) => ({ type: 'error', error: { type, message } });

/**
 * Faults in Anthropic's own words (docs.anthropic.com "Errors"): the status, the `{type: "error",
 * error: {type, message}}` body and, for rate limits, `retry-after` and `anthropic-ratelimit-*`.
 */
export function anthropicError(
  fault: Fault,
  retryAfterMs: number,
): { status: number; body: unknown; headers?: Record<string, string> } | undefined {
  const seconds = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  const limited = {
    'retry-after': seconds,
    'anthropic-ratelimit-requests-limit': '50',
    'anthropic-ratelimit-requests-remaining': '0',
    'anthropic-ratelimit-requests-reset': new Date(Date.now() + retryAfterMs).toISOString(),
  };
  switch (fault) {
    case 'rate_limit':
    case 'tpm_too_large':
      return {
        status: 429,
        headers: limited,
        body: error('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit.'),
      };
    case 'quota':
      return {
        status: 402,
        body: error('billing_error', 'Your credit balance is too low to access the Anthropic API.'),
      };
    case 'overloaded':
      return { status: 529, body: error('overloaded_error', 'Overloaded') };
    case 'unavailable':
      return { status: 503, headers: { 'retry-after': seconds }, body: error('api_error', 'Service unavailable.') };
    case 'server_error':
      return { status: 500, body: error('api_error', 'Internal server error') };
    case 'context_length':
      return {
        status: 400,
        body: error('invalid_request_error', 'prompt is too long: 210000 tokens > 200000 maximum'),
      };
    case 'bad_request':
      return { status: 400, body: error('invalid_request_error', 'temperature: range: 0..1') };
    case 'unauthorized':
      return { status: 401, body: error('authentication_error', 'invalid x-api-key') };
    default:
      return undefined;
  }
}

/** A tool to call: the one `tool_choice` names, else the first, unless the last turn is a tool result. */
function toolToCall(body: Record<string, unknown>): { name: string; input_schema?: unknown } | undefined {
  const tools = body['tools'] as Array<{ name: string; input_schema?: unknown }> | undefined;
  const choice = body['tool_choice'] as { type?: string; name?: string } | undefined;
  if (!tools?.length || choice?.type === 'none') return undefined;
  const last = (body['messages'] as Message[]).at(-1);
  const answered =
    Array.isArray(last?.content) && last.content.some((block: { type?: string }) => block?.type === 'tool_result');
  if (answered) return undefined;
  return tools.find((tool) => tool.name === choice?.name) ?? tools[0];
}

/** The text of a final assistant message (a prefill to continue), or ''. */
function prefillOf(body: Record<string, unknown>): string {
  const last = (body['messages'] as Message[] | undefined)?.at(-1);
  if (last?.role !== 'assistant') return '';
  if (typeof last.content === 'string') return last.content;
  return Array.isArray(last.content) ? last.content.map((block: { text?: string }) => block?.text ?? '').join('') : '';
}

/** Anthropic's Messages API: `POST /v1/messages`, JSON or its event stream. */
export async function answerAnthropic(ctx: AnswerContext, fault: Fault): Promise<void> {
  const { res, body, model, id } = ctx;
  const tool = toolToCall(body);
  const words = replyWords(ctx.reply, prefillOf(body));
  if (body['stream'] === true) return streamAnthropic(ctx, fault, words, tool);
  if (fault === 'endless_body') return endless(res);
  const message = {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content:
      fault === 'content_filter'
        ? []
        : tool
          ? [{ type: 'tool_use', id: `toolu_${id}`, name: tool.name, input: argumentsFor(tool.input_schema) }]
          : [{ type: 'text', text: words.join('') }],
    stop_reason: fault === 'content_filter' ? 'refusal' : tool ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: {
      input_tokens: 12,
      output_tokens: words.length,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 4,
    },
  };
  if (fault === 'empty_choices') return json(res, 200, { ...message, content: undefined });
  if (fault === 'malformed_json')
    return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"msg","content":[');
  if (fault === 'slow_body') {
    const text = JSON.stringify(message);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(text.slice(0, 10));
    await delay(ctx.slowMs);
    return void res.end(text.slice(10));
  }
  json(res, 200, message);
}

async function streamAnthropic(
  ctx: AnswerContext,
  fault: Fault,
  words: string[],
  tool: { name: string; input_schema?: unknown } | undefined,
): Promise<void> {
  const { res, model, id } = ctx;
  const event = (type: string, data: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(
    event('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 12, output_tokens: 1, cache_read_input_tokens: 4 },
      },
    }),
  );
  if (fault === 'endless_body')
    return endless(res, event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'more ' } }));
  const block = tool ? { type: 'tool_use', id: `toolu_${id}`, name: tool.name, input: {} } : { type: 'text', text: '' };
  res.write(event('content_block_start', { index: 0, content_block: block }));
  res.write(event('ping', {}));
  const pieces = tool ? halves(JSON.stringify(argumentsFor(tool.input_schema))) : words;
  const limit = ['cut_stream', 'stream_error', 'stall_stream'].includes(fault) ? ctx.chunksBeforeFault : pieces.length;
  for (let i = 0; i < limit && i < pieces.length; i++) {
    const slow = fault === 'slow_body' || (fault === 'slow_first_token' && i === 0);
    await delay(slow ? ctx.slowMs : ctx.tokenDelayMs);
    if (res.destroyed) return;
    if (fault === 'malformed_event' && i === ctx.chunksBeforeFault)
      res.write('event: content_block_delta\ndata: {"type": "content_block_delta", "delta": {"text": "oops"\n\n');
    const delta = tool
      ? { type: 'input_json_delta', partial_json: pieces[i] }
      : { type: 'text_delta', text: pieces[i] };
    res.write(event('content_block_delta', { index: 0, delta }));
  }
  if (fault === 'cut_stream') return void res.socket?.destroy();
  if (fault === 'stall_stream') return;
  if (fault === 'stream_error') return void res.end(event('error', error('overloaded_error', 'Overloaded')));
  res.write(event('content_block_stop', { index: 0 }));
  const stop = fault === 'content_filter' ? 'refusal' : tool ? 'tool_use' : 'end_turn';
  res.write(
    event('message_delta', {
      delta: { stop_reason: stop, stop_sequence: null },
      usage: { output_tokens: pieces.length },
    }),
  );
  // Anthropic has no [DONE]: message_stop ends the answer (`no_done` leaves it out: the finish decides).
  res.end(fault === 'no_done' ? '' : event('message_stop', {}));
}

function halves(text: string): string[] {
  const middle = Math.ceil(text.length / 2);
  return [text.slice(0, middle), text.slice(middle)].filter((piece) => piece !== '');
}
