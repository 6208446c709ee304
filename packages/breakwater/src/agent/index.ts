// breakwater/agent: tools that fail safely for a model, and degraded-result signals.
export {
  defineTool,
  type Tool,
  type ToolDefinition,
  type ToolResult,
  type ToolEvents,
  type InputSchema,
} from './tool.js';
export { runOpenAIToolCalls, type OpenAIToolCall, type ToolMessage } from './openai-tool-calls.js';
export { messageForModel, adviceFor } from './model-message.js';
export { DEGRADED_HEADER, degradationSignals } from './degraded.js';
