import type { Chunk } from './stream-reader.js';

/** Token counts in OpenAI's shape, from any provider's. */
export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
  completion_tokens_details?: { reasoning_tokens: number };
}

export function openAIUsage(prompt: number, completion: number, cached = 0, reasoning = 0): OpenAIUsage {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    ...(cached > 0 ? { prompt_tokens_details: { cached_tokens: cached } } : {}),
    ...(reasoning > 0 ? { completion_tokens_details: { reasoning_tokens: reasoning } } : {}),
  };
}

/** One streamed tool call (or a piece of its arguments), as OpenAI streams them. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}

/**
 * Builds OpenAI `chat.completion.chunk`s for one translated stream: the same id, model and
 * creation time on every chunk, as OpenAI sends them.
 */
export class ChunkWriter {
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(
    private readonly id: string,
    private readonly model: string,
  ) {}

  role(): Chunk {
    return this.chunk({ role: 'assistant', content: '' }, null, false);
  }

  content(text: string): Chunk {
    return { ...this.chunk({ content: text }, null, text !== ''), content: text };
  }

  toolCalls(calls: ToolCallDelta[]): Chunk {
    return this.chunk({ tool_calls: calls }, null, true);
  }

  finish(reason: string): Chunk {
    return { ...this.chunk({}, reason, true), finished: true };
  }

  /** What `stream_options.include_usage` adds at the end: no choices, the usage. */
  usage(usage: OpenAIUsage): Chunk {
    const data = JSON.stringify({
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [],
      usage,
    });
    return { data, content: '', finished: false, meaningful: false, usage, error: undefined };
  }

  private chunk(delta: Record<string, unknown>, finish: string | null, meaningful: boolean): Chunk {
    const data = JSON.stringify({
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
    return { data, content: '', finished: false, meaningful, usage: null, error: undefined };
  }
}

/** An error event inside a native stream, as a chunk the relay classifies (`chunkError`). */
export function errorChunk(error: unknown): Chunk {
  return { data: '', content: '', finished: false, meaningful: false, usage: null, error };
}

/** A tool call in an OpenAI answer. */
export interface AnswerToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A non-streaming answer in OpenAI's `chat.completion` shape: its text, its tool calls, why it ended. */
export function completion(
  id: string,
  model: string,
  answer: { text: string; toolCalls: AnswerToolCall[] },
  finishReason: string,
  usage: OpenAIUsage,
): Record<string, unknown> {
  const { text, toolCalls } = answer;
  const message = {
    role: 'assistant',
    // OpenAI's own shape: no text beside tool calls is null, not ''.
    content: text === '' && toolCalls.length > 0 ? null : text,
    refusal: null,
    ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
  };
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, finish_reason: finishReason, logprobs: null }],
    usage,
  };
}
