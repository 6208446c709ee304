import type { Tool, ToolResult } from './tool.js';

/** The shape of `message.tool_calls[]` in the openai SDK's chat completions. */
export interface OpenAIToolCall {
  id: string;
  type?: string;
  function: { name: string; arguments: string };
}

export interface ToolMessage {
  role: 'tool';
  tool_call_id: string;
  content: string;
}

/**
 * Runs the tool calls of one assistant message (concurrently) and returns the `role: 'tool'`
 * messages to append before the next request. A call to an unknown tool gets a structured error
 * too: the loop never throws because of what the model asked for.
 */
export async function runOpenAIToolCalls(
  tools: ReadonlyArray<Tool<unknown>>,
  calls: readonly OpenAIToolCall[] | null | undefined,
  options: { signal?: AbortSignal; correlationId?: string } = {},
): Promise<ToolMessage[]> {
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  return Promise.all(
    (calls ?? []).map(async (call) => {
      const tool = byName.get(call.function.name);
      const result: ToolResult<unknown> = tool
        ? await tool.run(call.function.arguments, options)
        : {
            ok: false,
            code: 'TOOL_NOT_FOUND',
            category: 'validation',
            message: `There is no tool named "${call.function.name}". Use one of: ${[...byName.keys()].join(', ')}.`,
            retryable: false,
          };
      return { role: 'tool' as const, tool_call_id: call.id, content: JSON.stringify(result) };
    }),
  );
}
