import { defineError, type BreakwaterError } from 'breakwater';
import type { ProviderKind, TranslationTarget } from './protocol.js';

/** A field (or a value of it) that the target's protocol has no way to honour. */
export const fieldUnsupported = defineError({
  code: 'GATEWAY_FIELD_UNSUPPORTED',
  category: 'validation',
  origin: 'caller',
  status: 400,
  description:
    'The request uses a field or value that the provider answering this model cannot honour; the gateway refuses it rather than drop it silently.',
  howToSolve:
    'Remove the field named in `param`, or send the request to a model routed to a provider that supports it.',
});

export function unsupported(
  target: TranslationTarget,
  kind: ProviderKind,
  path: string,
  what?: string,
): BreakwaterError {
  const message = `${what ?? `'${path}'`} is not supported by ${target.key} (${kind} API)`;
  return fieldUnsupported({
    message: `${message}.`,
    userMessage: "The model's provider cannot honour every part of this request.",
    details: { issues: [{ path, message }], provider: target.key.split(':')[0], kind },
    dependency: target.key,
  });
}

export interface ToolCall {
  id: string;
  type?: string;
  function: { name: string; arguments?: string };
}

export interface OpenAIMessage {
  role: string;
  content?: unknown;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  name?: string;
}

/** One part of a message's content, provider-neutral. */
export type ContentPart =
  { type: 'text'; text: string } | { type: 'image'; url: string } | { type: 'image'; mediaType: string; data: string };

/**
 * Values that ask for nothing beyond the default: sending them to a provider without the field
 * loses nothing. Any other value of these fields is a 400.
 */
const NEUTRAL: Readonly<Record<string, (value: unknown) => boolean>> = {
  n: (v) => v === 1,
  presence_penalty: (v) => v === 0,
  frequency_penalty: (v) => v === 0,
  logprobs: (v) => v === false,
  store: (v) => v === false,
  parallel_tool_calls: (v) => v === true,
  response_format: (v) => (v as { type?: unknown } | null)?.type === 'text',
  service_tier: (v) => v === 'auto' || v === 'default',
};

/** Every top-level field is one the protocol translates, null, or a neutral value; else a 400 naming it. */
export function checkFields(
  body: Record<string, unknown>,
  target: TranslationTarget,
  kind: ProviderKind,
  translated: ReadonlySet<string>,
): void {
  for (const [field, value] of Object.entries(body)) {
    if (translated.has(field) || value === null || value === undefined || NEUTRAL[field]?.(value)) continue;
    throw unsupported(target, kind, field);
  }
}

/** Fields every protocol translates. */
export const COMMON_FIELDS = [
  'model',
  'messages',
  'stream',
  // Usage is always reported at the end of a translated stream.
  'stream_options',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'stop',
  'tools',
  'tool_choice',
];

export function messagesOf(body: Record<string, unknown>): OpenAIMessage[] {
  return body['messages'] as OpenAIMessage[];
}

/** A message's content as parts: a string is one text part; text and image parts are translated. */
export function contentParts(
  content: unknown,
  path: string,
  target: TranslationTarget,
  kind: ProviderKind,
): ContentPart[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw unsupported(target, kind, path, `content that is not a string or a list of parts`);
  return content.map((part: { type?: unknown; text?: unknown; image_url?: { url?: unknown } }, index) => {
    if (part?.type === 'text' && typeof part.text === 'string') return { type: 'text', text: part.text };
    if (part?.type === 'image_url' && typeof part.image_url?.url === 'string') return imagePart(part.image_url.url);
    throw unsupported(
      target,
      kind,
      `${path}[${index}]`,
      `a content part of type '${text(part?.type, typeof part?.type)}'`,
    );
  });
}

function imagePart(url: string): ContentPart {
  const data = /^data:([\w.+-]+\/[\w.+-]+);base64,(.*)$/s.exec(url);
  return data ? { type: 'image', mediaType: data[1]!, data: data[2]! } : { type: 'image', url };
}

/** The text of a message's content (tool results, system prompts): text parts joined. */
export function textOf(content: unknown, path: string, target: TranslationTarget, kind: ProviderKind): string {
  return contentParts(content, path, target, kind)
    .map((part) => {
      if (part.type !== 'text') throw unsupported(target, kind, path, 'an image in a system or tool message');
      return part.text;
    })
    .join('\n');
}

/** A tool call's arguments, which OpenAI sends as a JSON string, as the object other providers want. */
export function toolArguments(call: ToolCall, path: string, target: TranslationTarget, kind: ProviderKind): object {
  const text = call.function?.arguments ?? '{}';
  try {
    const parsed: unknown = typeof text === 'string' ? JSON.parse(text === '' ? '{}' : text) : undefined;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
  } catch {
    // Reported below.
  }
  throw unsupported(target, kind, `${path}.function.arguments`, 'tool call arguments that are not a JSON object');
}

export function maxTokensOf(body: Record<string, unknown>): number | undefined {
  const value = body['max_completion_tokens'] ?? body['max_tokens'];
  return typeof value === 'number' ? value : undefined;
}

export function stopSequences(body: Record<string, unknown>): string[] | undefined {
  const stop = body['stop'];
  if (typeof stop === 'string') return [stop];
  return Array.isArray(stop) ? (stop as string[]) : undefined;
}

export interface FunctionTool {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

/** The request's tools; only function tools exist in every protocol. */
export function functionTools(
  body: Record<string, unknown>,
  target: TranslationTarget,
  kind: ProviderKind,
): FunctionTool[] {
  const tools = body['tools'];
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) throw unsupported(target, kind, 'tools', "'tools' that is not a list");
  return tools.map((tool: { type?: unknown; function?: FunctionTool }, index) => {
    if (tool?.type !== 'function' || typeof tool.function?.name !== 'string')
      throw unsupported(target, kind, `tools[${index}]`, `a tool of type '${text(tool?.type, typeof tool?.type)}'`);
    return tool.function;
  });
}

/** `tool_choice` as one of four intents. */
export type ToolChoice = { mode: 'auto' | 'none' | 'required' } | { mode: 'function'; name: string } | undefined;

export function toolChoiceOf(body: Record<string, unknown>, target: TranslationTarget, kind: ProviderKind): ToolChoice {
  const choice = body['tool_choice'];
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto' || choice === 'none' || choice === 'required') return { mode: choice };
  const name = (choice as { function?: { name?: unknown } }).function?.name;
  if (typeof name === 'string') return { mode: 'function', name };
  throw unsupported(target, kind, 'tool_choice', `tool_choice ${JSON.stringify(choice)}`);
}

/** An assistant message's tool calls, each checked for the shape every protocol needs. */
export function toolCallsOf(
  message: OpenAIMessage,
  path: string,
  target: TranslationTarget,
  kind: ProviderKind,
): Array<ToolCall & { input: object }> {
  const calls: unknown = message.tool_calls;
  if (calls === undefined || calls === null) return [];
  if (!Array.isArray(calls)) throw unsupported(target, kind, `${path}.tool_calls`, "'tool_calls' that is not a list");
  return calls.map((call: Partial<ToolCall> | null, index) => {
    const at = `${path}.tool_calls[${index}]`;
    if (typeof call?.id !== 'string' || typeof call.function?.name !== 'string')
      throw unsupported(target, kind, at, 'a tool call without an id and a function name');
    return { ...(call as ToolCall), input: toolArguments(call as ToolCall, at, target, kind) };
  });
}

/** Each tool call id → its function name (Gemini answers tool results by name). */
export function toolNamesById(messages: OpenAIMessage[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const message of messages) {
    if (!Array.isArray(message.tool_calls)) continue;
    for (const call of message.tool_calls as Array<Partial<ToolCall> | null>)
      if (typeof call?.id === 'string' && typeof call.function?.name === 'string')
        names.set(call.id, call.function.name);
  }
  return names;
}

/**
 * A string someone else sent, or `fallback`. Never `String(value)`: parsed JSON can carry an own
 * `toString` that is not a function, and String() of it throws.
 */
export function text(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

/** A number the upstream reported, or 0 (a missing or garbled count never becomes NaN or text). */
export function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** The objects of a list the upstream sent; anything else in it (null, text) is ignored. */
export function objectsIn(list: unknown): Array<Record<string, unknown>> {
  return Array.isArray(list)
    ? list.filter((item): item is Record<string, unknown> => item !== null && typeof item === 'object')
    : [];
}

/** A conversation's turns, consecutive turns of one role merged (Anthropic and Gemini alternate roles). */
export class Turns<Role extends string, Item> {
  readonly list: Array<{ role: Role; items: Item[] }> = [];

  push(role: Role, items: Item[]): void {
    if (items.length === 0) return;
    const last = this.list.at(-1);
    if (last?.role === role) last.items.push(...items);
    else this.list.push({ role, items });
  }
}

/**
 * System and developer messages joined into one system prompt (the field both Anthropic and Gemini
 * have), and the rest of the conversation with each message's path for errors. A `name` is
 * refused where no protocol has one (a tool message's name is known from its call).
 */
export function splitSystem(
  messages: OpenAIMessage[],
  target: TranslationTarget,
  kind: ProviderKind,
): { system: string; conversation: Array<{ message: OpenAIMessage; path: string }> } {
  const system: string[] = [];
  const conversation: Array<{ message: OpenAIMessage; path: string }> = [];
  messages.forEach((message, index) => {
    const path = `messages[${index}]`;
    if (message.name != null && message.role !== 'tool') throw unsupported(target, kind, `${path}.name`);
    if (message.role === 'system' || message.role === 'developer')
      system.push(textOf(message.content, `${path}.content`, target, kind));
    else conversation.push({ message, path });
  });
  return { system: system.join('\n\n'), conversation };
}
