import { fromRule } from 'breakwater';
import { RULES } from 'breakwater/rules';
import {
  ChunkWriter,
  completion,
  errorChunk,
  openAIUsage,
  type OpenAIUsage,
  type ToolCallDelta,
} from './openai-chunk.js';
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
  toolNamesById,
  unsupported,
  type OpenAIMessage,
} from './openai-request.js';
import { emptyResult, type ChatProtocol, type StreamTranslator, type TranslationTarget } from './protocol.js';
import { parseEventObject, type Chunk } from './stream-reader.js';

type Part = Record<string, unknown>;
interface Content {
  role: 'user' | 'model';
  parts: Part[];
}

const KIND = 'gemini';
const FIELDS = new Set([...COMMON_FIELDS, 'seed', 'presence_penalty', 'frequency_penalty', 'response_format']);
/**
 * Gemini attaches a thought signature to function calls and wants it back with the call in the
 * next turn. OpenAI clients pass tool call ids through unchanged, so the signature rides in the id.
 */
const SIGNATURE = '__thought__';

/** Gemini's finish reasons as OpenAI's. */
const FINISH: Readonly<Record<string, string>> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
};

/**
 * Gemini's generateContent API (`POST {baseUrl}/models/{model}:generateContent`, streaming with
 * `:streamGenerateContent?alt=sse`; e.g. https://generativelanguage.googleapis.com/v1beta). The key
 * goes in `x-goog-api-key`, never in the URL.
 */
export const geminiProtocol: ChatProtocol = {
  kind: KIND,
  probePath: '/models',
  embeddings: false,
  headers: (apiKey): Record<string, string> => (apiKey ? { 'x-goog-api-key': apiKey } : {}),
  chatRequest(body, target, stream) {
    checkFields(body, target, KIND, FIELDS);
    const { system, contents } = translateMessages(messagesOf(body), target);
    const tools = functionTools(body, target, KIND);
    const model = encodeURIComponent(target.model);
    return {
      path: stream ? `/models/${model}:streamGenerateContent?alt=sse` : `/models/${model}:generateContent`,
      body: {
        contents,
        ...(system ? { systemInstruction: { parts: [{ text: system }] } } : {}),
        ...(tools.length > 0
          ? {
              tools: [
                {
                  functionDeclarations: tools.map((tool) => ({
                    name: tool.name,
                    ...(tool.description ? { description: tool.description } : {}),
                    ...(tool.parameters ? { parametersJsonSchema: tool.parameters } : {}),
                  })),
                },
              ],
            }
          : {}),
        ...toolConfig(body, target),
        generationConfig: generationConfig(body, target),
      },
    };
  },
  chatResponse(native, target) {
    const candidate = firstCandidate(native);
    if (!candidate) throw blockedOrEmpty(native, target);
    const parts = partsOf(candidate);
    const answer = textParts(parts);
    const toolCalls = parts
      .filter((part) => part.functionCall)
      .map((part, index) => ({ ...toolCall(part, index), type: 'function' as const }));
    return completion(
      text(native['responseId'], 'gemini'),
      text(native['modelVersion'], target.model),
      { text: answer, toolCalls },
      toolCalls.length > 0 ? 'tool_calls' : (FINISH[text(candidate.finishReason, 'STOP')] ?? 'stop'),
      usageOf(native['usageMetadata']),
    );
  },
  streamTranslator: (target) => geminiStream(target),
};

interface Candidate {
  content?: { parts?: unknown };
  finishReason?: string;
}

function firstCandidate(response: Record<string, unknown>): Candidate | undefined {
  return objectsIn(response['candidates'])[0] as Candidate | undefined;
}

function partsOf(candidate: Candidate | undefined): Part[] {
  return objectsIn(candidate?.content?.parts);
}

function generationConfig(body: Record<string, unknown>, target: TranslationTarget): Record<string, unknown> {
  const format = body['response_format'] as { type?: string; json_schema?: { schema?: unknown } } | undefined;
  const type = text(format?.type, typeof format?.type);
  if (format && !['text', 'json_object', 'json_schema'].includes(type))
    throw unsupported(target, KIND, 'response_format', `response_format of type '${type}'`);
  const max = maxTokensOf(body);
  const stop = stopSequences(body);
  const config: Record<string, unknown> = {
    ...(max !== undefined ? { maxOutputTokens: max } : {}),
    ...(stop ? { stopSequences: stop } : {}),
    ...(format?.type === 'json_object' || format?.type === 'json_schema'
      ? { responseMimeType: 'application/json' }
      : {}),
    ...(format?.type === 'json_schema' && format.json_schema?.schema
      ? { responseJsonSchema: format.json_schema.schema }
      : {}),
  };
  for (const [from, to] of [
    ['temperature', 'temperature'],
    ['top_p', 'topP'],
    ['seed', 'seed'],
    ['presence_penalty', 'presencePenalty'],
    ['frequency_penalty', 'frequencyPenalty'],
  ] as const) {
    if (typeof body[from] === 'number') config[to] = body[from];
  }
  return config;
}

function toolConfig(body: Record<string, unknown>, target: TranslationTarget): Record<string, unknown> {
  const choice = toolChoiceOf(body, target, KIND);
  if (!choice) return {};
  const mode = { auto: 'AUTO', none: 'NONE', required: 'ANY', function: 'ANY' }[choice.mode];
  return {
    toolConfig: {
      functionCallingConfig: { mode, ...(choice.mode === 'function' ? { allowedFunctionNames: [choice.name] } : {}) },
    },
  };
}

function translateMessages(
  messages: OpenAIMessage[],
  target: TranslationTarget,
): { system: string; contents: Content[] } {
  const names = toolNamesById(messages);
  const { system, conversation } = splitSystem(messages, target, KIND);
  const turns = new Turns<Content['role'], Part>();
  for (const { message, path } of conversation) {
    switch (message.role) {
      case 'user':
      case 'assistant':
        turns.push(message.role === 'user' ? 'user' : 'model', [
          ...contentParts(message.content, `${path}.content`, target, KIND).map((part, i) => {
            if (part.type === 'text') return { text: part.text };
            if ('url' in part)
              throw unsupported(
                target,
                KIND,
                `${path}.content[${i}]`,
                'an image given by URL (send it as a base64 data URL)',
              );
            return { inlineData: { mimeType: part.mediaType, data: part.data } };
          }),
          ...toolCallsOf(message, path, target, KIND).map((call) =>
            functionCallPart(call.id, call.function.name, call.input),
          ),
        ]);
        break;
      case 'tool': {
        const name = names.get(text(message.tool_call_id, ''));
        if (name === undefined)
          throw unsupported(
            target,
            KIND,
            `${path}.tool_call_id`,
            'a tool result whose tool call is not in the conversation',
          );
        const response = toolResponse(textOf(message.content, `${path}.content`, target, KIND));
        turns.push('user', [{ functionResponse: { name, response } }]);
        break;
      }
      default:
        throw unsupported(target, KIND, `${path}.role`, `the role '${message.role}'`);
    }
  }
  return { system, contents: turns.list.map(({ role, items }) => ({ role, parts: items })) };
}

/** A function call replayed to Gemini, with the thought signature its id carries. */
function functionCallPart(id: string, name: string, args: object): Part {
  const at = id.indexOf(SIGNATURE);
  return {
    functionCall: { name, args },
    ...(at >= 0 ? { thoughtSignature: id.slice(at + SIGNATURE.length) } : {}),
  };
}

/** Gemini wants a tool's result as an object: JSON objects as they are, anything else wrapped. */
function toolResponse(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // Plain text.
  }
  return { content: text };
}

function textParts(parts: Part[]): string {
  return parts
    .filter((part) => typeof part['text'] === 'string' && part['thought'] !== true)
    .map((part) => part['text'] as string)
    .join('');
}

function toolCall(part: Part, index: number): { id: string; function: { name: string; arguments: string } } {
  const call = part['functionCall'] as { id?: unknown; name?: unknown; args?: unknown };
  const signature = typeof part['thoughtSignature'] === 'string' ? `${SIGNATURE}${part['thoughtSignature']}` : '';
  return {
    id: `${typeof call.id === 'string' ? call.id : `call_${index}`}${signature}`,
    function: { name: text(call.name, ''), arguments: JSON.stringify(call.args ?? {}) },
  };
}

function usageOf(usage: unknown): OpenAIUsage {
  const u = (usage ?? {}) as Record<string, unknown>;
  const thoughts = count(u['thoughtsTokenCount']);
  return openAIUsage(
    count(u['promptTokenCount']),
    count(u['candidatesTokenCount']) + thoughts,
    count(u['cachedContentTokenCount']),
    thoughts,
  );
}

/** No candidate: the prompt was blocked (`promptFeedback.blockReason`), or the answer is empty. */
function blockedOrEmpty(native: Record<string, unknown>, target: TranslationTarget) {
  const reason = text((native['promptFeedback'] as { blockReason?: unknown } | undefined)?.blockReason, '');
  if (reason)
    return fromRule(RULES.llm.content_filtered, {
      domain: 'LLM',
      dependency: target.key,
      message: `Gemini blocked the prompt (${reason}).`,
      details: { filters: [reason] },
    });
  return emptyResult(target, 'candidates');
}

/**
 * Gemini's stream (each event a whole GenerateContentResponse) as OpenAI chunks: text parts →
 * content, a function call → one tool call chunk (Gemini sends it whole), the finish reason and
 * the usage on the last event, `{error}` → an error the relay classifies, a blocked prompt → a
 * content filter error.
 */
function geminiStream(target: TranslationTarget): StreamTranslator {
  let writer: ChunkWriter | undefined;
  let tools = 0;
  return (data) => {
    const event = parseEventObject(data);
    if (!event) return undefined;
    if (event['error'] !== undefined) return [errorChunk(event['error'])];
    const out: Chunk[] = [];
    if (!writer) {
      writer = new ChunkWriter(text(event['responseId'], 'gemini'), text(event['modelVersion'], target.model));
      out.push(writer.role());
    }
    const candidate = firstCandidate(event);
    const blocked = text((event['promptFeedback'] as { blockReason?: unknown } | undefined)?.blockReason, '');
    if (!candidate && blocked)
      return [...out, errorChunk({ code: 'content_filter', message: `Gemini blocked the prompt (${blocked}).` })];
    const parts = partsOf(candidate);
    const answer = textParts(parts);
    if (answer !== '') out.push(writer.content(answer));
    const calls: ToolCallDelta[] = parts
      .filter((part) => part.functionCall)
      .map((part) => ({ index: tools, ...toolCall(part, tools++), type: 'function' }));
    if (calls.length > 0) out.push(writer.toolCalls(calls));
    if (typeof candidate?.finishReason === 'string') {
      out.push(writer.finish(tools > 0 ? 'tool_calls' : (FINISH[candidate.finishReason] ?? 'stop')));
      out.push(writer.usage(usageOf(event['usageMetadata'])));
    }
    return out;
  };
}
