import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { ChunkWriter, completion, errorChunk, openAIUsage, type OpenAIUsage } from './openai-chunk.js';
import {
  checkFields,
  COMMON_FIELDS,
  contentParts,
  count,
  functionTools,
  maxTokensOf,
  messagesOf,
  objectsIn,
  splitSystem,
  stopSequences,
  text,
  textOf,
  toolCallsOf,
  toolChoiceOf,
  Turns,
  unsupported,
  type OpenAIMessage,
} from './openai-request.js';
import { emptyResult, type ChatProtocol, type StreamTranslator, type TranslationTarget } from './protocol.js';
import { parseEventObject, type Chunk } from './stream-reader.js';

type Block = Record<string, unknown>;
const KIND = 'bedrock';
const FIELDS = new Set(COMMON_FIELDS);

/** Bedrock's stop reasons as OpenAI's finish reasons. */
const FINISH: Readonly<Record<string, string>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  guardrail_intervened: 'content_filter',
  content_filtered: 'content_filter',
};

/** AWS credentials for SigV4, from the standard environment variables. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * Amazon Bedrock's Converse API (`POST {baseUrl}/model/{id}/converse`, `…/converse-stream` in AWS's
 * binary event-stream framing), e.g. https://bedrock-runtime.us-east-1.amazonaws.com. Requests are
 * signed with SigV4 (the AWS SDK's signer) from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN, or carry a Bedrock API key as a bearer token when `apiKeyEnv` names one.
 */
export const bedrockProtocol: ChatProtocol = {
  kind: KIND,
  embeddings: false,
  framing: 'aws-eventstream',
  headers: (apiKey): Record<string, string> => (apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
  sign: signRequest,
  chatRequest(body, target, stream) {
    checkFields(body, target, KIND, FIELDS);
    const { system, conversation } = splitSystem(messagesOf(body), target, KIND);
    const model = encodeURIComponent(target.model);
    return {
      path: `/model/${model}/${stream ? 'converse-stream' : 'converse'}`,
      body: {
        messages: translateTurns(conversation, target),
        ...(system ? { system: [{ text: system }] } : {}),
        inferenceConfig: inferenceConfig(body),
        ...toolConfig(body, target),
      },
    };
  },
  chatResponse(native, target) {
    const message = (native['output'] as { message?: { content?: unknown } } | undefined)?.message;
    if (!message || !Array.isArray(message.content)) throw emptyResult(target, 'output');
    const blocks = objectsIn(message.content);
    const answer = blocks.map((block) => text(block['text'], '')).join('');
    const toolCalls = blocks
      .map((block) => block['toolUse'] as { toolUseId?: unknown; name?: unknown; input?: unknown } | undefined)
      .filter((use) => use !== undefined && use !== null)
      .map((use) => ({
        id: text(use.toolUseId, ''),
        type: 'function' as const,
        function: { name: text(use.name, ''), arguments: JSON.stringify(use.input ?? {}) },
      }));
    return completion(
      'bedrock',
      target.model,
      { text: answer, toolCalls },
      FINISH[text(native['stopReason'], '')] ?? 'stop',
      usageOf(native['usage']),
    );
  },
  streamTranslator: (target) => bedrockStream(target),
};

function inferenceConfig(body: Record<string, unknown>): Record<string, unknown> {
  const max = maxTokensOf(body);
  const stop = stopSequences(body);
  return {
    ...(max !== undefined ? { maxTokens: max } : {}),
    ...(typeof body['temperature'] === 'number' ? { temperature: body['temperature'] } : {}),
    ...(typeof body['top_p'] === 'number' ? { topP: body['top_p'] } : {}),
    ...(stop ? { stopSequences: stop } : {}),
  };
}

function toolConfig(body: Record<string, unknown>, target: TranslationTarget): Record<string, unknown> {
  const tools = functionTools(body, target, KIND);
  const choice = toolChoiceOf(body, target, KIND);
  if (choice?.mode === 'none')
    throw unsupported(target, KIND, 'tool_choice', "tool_choice 'none' (Bedrock has no way to forbid tool calls)");
  if (tools.length === 0) return {};
  return {
    toolConfig: {
      tools: tools.map((tool) => ({
        toolSpec: {
          name: tool.name,
          ...(tool.description ? { description: tool.description } : {}),
          inputSchema: { json: tool.parameters ?? { type: 'object', properties: {} } },
        },
      })),
      ...(choice?.mode === 'required' ? { toolChoice: { any: {} } } : {}),
      ...(choice?.mode === 'auto' ? { toolChoice: { auto: {} } } : {}),
      ...(choice?.mode === 'function' ? { toolChoice: { tool: { name: choice.name } } } : {}),
    },
  };
}

const IMAGE_FORMATS: Readonly<Record<string, string>> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

function translateTurns(conversation: Array<{ message: OpenAIMessage; path: string }>, target: TranslationTarget) {
  const turns = new Turns<'user' | 'assistant', Block>();
  for (const { message, path } of conversation) {
    switch (message.role) {
      case 'user':
      case 'assistant':
        turns.push(message.role, [
          ...contentParts(message.content, `${path}.content`, target, KIND).map((part, i): Block => {
            if (part.type === 'text') return { text: part.text };
            const format = 'url' in part ? undefined : IMAGE_FORMATS[part.mediaType];
            if ('url' in part || !format)
              throw unsupported(
                target,
                KIND,
                `${path}.content[${i}]`,
                'an image that is not a base64 PNG, JPEG, GIF or WebP',
              );
            return { image: { format, source: { bytes: part.data } } };
          }),
          ...toolCallsOf(message, path, target, KIND).map((call) => ({
            toolUse: { toolUseId: call.id, name: call.function.name, input: call.input },
          })),
        ]);
        break;
      case 'tool':
        turns.push('user', [
          {
            toolResult: {
              toolUseId: text(message.tool_call_id, ''),
              content: [{ text: textOf(message.content, `${path}.content`, target, KIND) }],
            },
          },
        ]);
        break;
      default:
        throw unsupported(target, KIND, `${path}.role`, `the role '${message.role}'`);
    }
  }
  return turns.list.map(({ role, items }) => ({ role, content: items }));
}

function usageOf(usage: unknown): OpenAIUsage {
  const u = (usage ?? {}) as Record<string, unknown>;
  const cached = count(u['cacheReadInputTokens']);
  return openAIUsage(
    count(u['inputTokens']) + cached + count(u['cacheWriteInputTokens']),
    count(u['outputTokens']),
    cached,
  );
}

/**
 * ConverseStream's events (decoded from the binary framing by aws-eventstream.ts) as OpenAI chunks:
 * messageStart → the role, text deltas → content, a toolUse block → a tool call and its argument
 * deltas, messageStop → the finish, metadata → the usage, an exception → an error the relay classifies.
 */
function bedrockStream(target: TranslationTarget): StreamTranslator {
  const writer = new ChunkWriter('bedrock', target.model);
  const toolIndex = new Map<number, number>();
  return (data) => {
    const event = parseEventObject<Record<string, Record<string, unknown> | undefined>>(data);
    if (!event) return undefined;
    if (event['error']) return [errorChunk(event['error'])];
    if (event['messageStart']) return [writer.role()];
    const start = event['contentBlockStart'];
    if (start) return blockStart(writer, start, toolIndex);
    const delta = event['contentBlockDelta'];
    if (delta) return blockDelta(writer, delta, toolIndex);
    const stop = event['messageStop'];
    if (stop) return [writer.finish(FINISH[text(stop['stopReason'], '')] ?? 'stop')];
    const metadata = event['metadata'];
    if (metadata) return [writer.usage(usageOf(metadata['usage']))];
    return [];
  };
}

function blockStart(writer: ChunkWriter, start: Record<string, unknown>, toolIndex: Map<number, number>): Chunk[] {
  const use = (start['start'] as { toolUse?: { toolUseId?: unknown; name?: unknown } } | undefined)?.toolUse;
  if (!use) return [];
  const index = toolIndex.size;
  toolIndex.set(count(start['contentBlockIndex']), index);
  return [
    writer.toolCalls([
      { index, id: text(use.toolUseId, ''), type: 'function', function: { name: text(use.name, ''), arguments: '' } },
    ]),
  ];
}

function blockDelta(writer: ChunkWriter, delta: Record<string, unknown>, toolIndex: Map<number, number>): Chunk[] {
  const inner = (delta['delta'] ?? {}) as { text?: unknown; toolUse?: { input?: unknown } };
  if (typeof inner.text === 'string' && inner.text !== '') return [writer.content(inner.text)];
  const index = toolIndex.get(count(delta['contentBlockIndex']));
  const input = inner.toolUse?.input;
  if (typeof input === 'string' && input !== '' && index !== undefined)
    return [writer.toolCalls([{ index, function: { arguments: input } }])];
  return [];
}

/** node:crypto behind the hash interface the AWS signer takes (HMAC when given a secret). */
export class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  return data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The region from a Bedrock runtime host: bedrock-runtime.<region>.amazonaws.com (else us-east-1). */
function regionOf(url: URL): string {
  return /^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1] ?? 'us-east-1';
}

/** SigV4 headers for a request (with the AWS SDK's signer), when credentials are configured. */
async function signRequest(
  request: { url: string; headers: Record<string, string>; body: string },
  credentials: AwsCredentials | undefined,
  region: string | undefined,
): Promise<Record<string, string>> {
  if (!credentials || request.headers['authorization']) return request.headers;
  const url = new URL(request.url);
  const signer = new SignatureV4({
    credentials,
    region: region ?? regionOf(url),
    service: 'bedrock',
    sha256: NodeSha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { ...request.headers, host: url.host },
    body: request.body,
  });
  return signed.headers;
}
