import { ChunkWriter, completion, errorChunk, openAIUsage, type OpenAIUsage } from './openai-chunk.js';
import {
  checkFields,
  COMMON_FIELDS,
  contentParts,
  functionTools,
  maxTokensOf,
  messagesOf,
  stopSequences,
  text,
  textOf,
  count,
  objectsIn,
  splitSystem,
  toolCallsOf,
  toolChoiceOf,
  Turns,
  unsupported,
  type ContentPart,
  type OpenAIMessage,
} from './openai-request.js';
import { emptyResult, type ChatProtocol, type StreamTranslator, type TranslationTarget } from './protocol.js';
import { parseEventObject, type Chunk } from './stream-reader.js';

type Block = Record<string, unknown> & { type: string };
interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

const KIND = 'anthropic';
const FIELDS = new Set([...COMMON_FIELDS, 'user', 'parallel_tool_calls']);
const VERSION = '2023-06-01';

/** Anthropic's stop reasons as OpenAI's finish reasons. */
const FINISH: Readonly<Record<string, string>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/**
 * Anthropic's Messages API (`POST {baseUrl}/messages`, e.g. https://api.anthropic.com/v1): system
 * messages become `system`, tool calls `tool_use` blocks, tool results `tool_result` blocks in a
 * user turn, consecutive turns of one role are merged (Anthropic alternates roles), and a final
 * assistant message is a prefill (continued, not answered).
 */
export const anthropicProtocol: ChatProtocol = {
  kind: KIND,
  probePath: '/models',
  embeddings: false,
  headers: (apiKey) => ({ 'anthropic-version': VERSION, ...(apiKey ? { 'x-api-key': apiKey } : {}) }),
  chatRequest(body, target, stream) {
    checkFields(body, target, KIND, FIELDS);
    const { system, messages } = translateMessages(messagesOf(body), target);
    const tools = functionTools(body, target, KIND);
    const toolChoice = anthropicToolChoice(body, target);
    const stop = stopSequences(body);
    const user = body['user'];
    if (user !== undefined && user !== null && typeof user !== 'string')
      throw unsupported(target, KIND, 'user', "a 'user' that is not a string");
    return {
      path: '/messages',
      body: {
        model: target.model,
        // Required by Anthropic: the provider's `defaultMaxTokens` when the client sets none.
        max_tokens: maxTokensOf(body) ?? target.defaultMaxTokens,
        messages,
        ...(system ? { system } : {}),
        ...numbers(body),
        ...(stop ? { stop_sequences: stop } : {}),
        ...(tools.length > 0
          ? {
              tools: tools.map((tool) => ({
                name: tool.name,
                ...(tool.description ? { description: tool.description } : {}),
                input_schema: tool.parameters ?? { type: 'object', properties: {} },
              })),
            }
          : {}),
        ...(toolChoice ? { tool_choice: toolChoice } : {}),
        ...(typeof user === 'string' ? { metadata: { user_id: user } } : {}),
        ...(stream ? { stream: true } : {}),
      },
    };
  },
  chatResponse(native, target) {
    const content = native['content'];
    if (!Array.isArray(content)) throw emptyResult(target, 'content');
    const blocks = objectsIn(content) as Block[];
    const answer = blocks
      .filter((block) => block.type === 'text')
      .map((block) => text(block['text'], ''))
      .join('');
    const toolCalls = blocks
      .filter((block) => block.type === 'tool_use')
      .map((block) => ({
        id: text(block['id'], ''),
        type: 'function' as const,
        function: { name: text(block['name'], ''), arguments: JSON.stringify(block['input'] ?? {}) },
      }));
    return completion(
      text(native['id'], 'msg'),
      text(native['model'], target.model),
      { text: answer, toolCalls },
      FINISH[text(native['stop_reason'], '')] ?? 'stop',
      usageOf(native['usage']),
    );
  },
  streamTranslator: (target) => anthropicStream(target),
};

function numbers(body: Record<string, unknown>): Record<string, unknown> {
  return {
    ...(typeof body['temperature'] === 'number' ? { temperature: body['temperature'] } : {}),
    ...(typeof body['top_p'] === 'number' ? { top_p: body['top_p'] } : {}),
  };
}

function anthropicToolChoice(
  body: Record<string, unknown>,
  target: TranslationTarget,
): Record<string, unknown> | undefined {
  const choice = toolChoiceOf(body, target, KIND);
  const serial = body['parallel_tool_calls'] === false ? { disable_parallel_tool_use: true } : {};
  if (!choice) return body['parallel_tool_calls'] === false ? { type: 'auto', ...serial } : undefined;
  if (choice.mode === 'none') return { type: 'none' };
  if (choice.mode === 'function') return { type: 'tool', name: choice.name, ...serial };
  return { type: choice.mode === 'required' ? 'any' : 'auto', ...serial };
}

function translateMessages(
  messages: OpenAIMessage[],
  target: TranslationTarget,
): { system: string; messages: AnthropicMessage[] } {
  const { system, conversation } = splitSystem(messages, target, KIND);
  const turns = new Turns<AnthropicMessage['role'], Block>();
  for (const { message, path } of conversation) {
    switch (message.role) {
      case 'user':
        turns.push('user', contentParts(message.content, `${path}.content`, target, KIND).map(block));
        break;
      case 'assistant':
        turns.push('assistant', [
          ...contentParts(message.content, `${path}.content`, target, KIND).map(block),
          ...toolCallsOf(message, path, target, KIND).map((call) => ({
            type: 'tool_use',
            id: call.id,
            name: call.function.name,
            input: call.input,
          })),
        ]);
        break;
      case 'tool':
        turns.push('user', [
          {
            type: 'tool_result',
            tool_use_id: text(message.tool_call_id, ''),
            content: textOf(message.content, `${path}.content`, target, KIND),
          },
        ]);
        break;
      default:
        throw unsupported(target, KIND, `${path}.role`, `the role '${message.role}'`);
    }
  }
  const out = turns.list.map(({ role, items }) => ({ role, content: items }));
  trimPrefill(out);
  return { system, messages: out };
}

/** Anthropic refuses a final assistant message (a prefill) that ends with whitespace. */
function trimPrefill(messages: AnthropicMessage[]): void {
  const last = messages.at(-1);
  if (last?.role !== 'assistant') return;
  const final = last.content.at(-1);
  if (final?.type !== 'text') return;
  final['text'] = text(final['text'], '').trimEnd();
  if (final['text'] === '') last.content.pop();
  if (last.content.length === 0) messages.pop();
}

function block(part: ContentPart): Block {
  if (part.type === 'text') return { type: 'text', text: part.text };
  return 'url' in part
    ? { type: 'image', source: { type: 'url', url: part.url } }
    : { type: 'image', source: { type: 'base64', media_type: part.mediaType, data: part.data } };
}

function usageOf(usage: unknown): OpenAIUsage {
  const u = (usage ?? {}) as Record<string, unknown>;
  const cached = count(u['cache_read_input_tokens']);
  const prompt = count(u['input_tokens']) + cached + count(u['cache_creation_input_tokens']);
  return openAIUsage(prompt, count(u['output_tokens']), cached);
}

interface StreamEvent {
  type?: string;
  index?: number;
  message?: { id?: string; model?: string; usage?: Record<string, number> };
  content_block?: Block;
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string };
  usage?: Record<string, number>;
  error?: unknown;
}

/**
 * Anthropic's stream events as OpenAI chunks: `message_start` → the role chunk, text deltas →
 * content, a `tool_use` block → a tool call (id and name, then its arguments as they stream),
 * `message_delta` → the finish and the usage, an `error` event → an error the relay classifies.
 */
function anthropicStream(target: TranslationTarget): StreamTranslator {
  let writer = new ChunkWriter('msg', target.model);
  const usage: Record<string, unknown> = {};
  // Content block index → the tool call's index among this answer's tool calls.
  const toolIndex = new Map<number, number>();
  return (data) => {
    const event = parseEventObject<StreamEvent>(data);
    if (!event) return undefined;
    switch (event.type) {
      case 'message_start':
        writer = new ChunkWriter(text(event.message?.id, 'msg'), text(event.message?.model, target.model));
        Object.assign(usage, event.message?.usage);
        return [writer.role()];
      case 'content_block_start':
        return blockStart(writer, event, toolIndex);
      case 'content_block_delta':
        return blockDelta(writer, event, toolIndex);
      case 'message_delta': {
        Object.assign(usage, event.usage);
        const reason = event.delta?.stop_reason;
        return typeof reason === 'string'
          ? [writer.finish(FINISH[reason] ?? 'stop'), writer.usage(usageOf(usage))]
          : [];
      }
      case 'error':
        return [errorChunk(event.error)];
      default:
        // ping, content_block_stop, message_stop
        return [];
    }
  };
}

function blockStart(writer: ChunkWriter, event: StreamEvent, toolIndex: Map<number, number>): Chunk[] {
  const started = event.content_block;
  if (started?.type === 'text' && typeof started['text'] === 'string' && started['text'] !== '')
    return [writer.content(started['text'])];
  if (started?.type !== 'tool_use') return [];
  const index = toolIndex.size;
  toolIndex.set(event.index ?? index, index);
  return [
    writer.toolCalls([
      {
        index,
        id: text(started['id'], ''),
        type: 'function',
        function: { name: text(started['name'], ''), arguments: '' },
      },
    ]),
  ];
}

function blockDelta(writer: ChunkWriter, event: StreamEvent, toolIndex: Map<number, number>): Chunk[] {
  const delta = event.delta;
  if (delta?.type === 'text_delta' && typeof delta.text === 'string' && delta.text) return [writer.content(delta.text)];
  const index = toolIndex.get(event.index ?? -1);
  if (
    delta?.type === 'input_json_delta' &&
    typeof delta.partial_json === 'string' &&
    delta.partial_json &&
    index !== undefined
  )
    return [writer.toolCalls([{ index, function: { arguments: delta.partial_json } }])];
  // thinking and signature deltas are not part of an OpenAI answer.
  return [];
}
