import { emptyResult, type ChatProtocol } from './protocol.js';
import { parseChunk } from './stream-reader.js';

/** OpenAI and every OpenAI-compatible server: the request and the answer pass through as they are. */
export const openAIProtocol: ChatProtocol = {
  kind: 'openai',
  probePath: '/models',
  embeddings: true,
  headers: (apiKey): Record<string, string> => (apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
  chatRequest: (body, target) => ({ path: '/chat/completions', body: { ...body, model: target.model } }),
  chatResponse(native, target) {
    const choices = native['choices'];
    if (!Array.isArray(choices) || choices.length === 0) throw emptyResult(target, 'choices');
    return native;
  },
  streamTranslator: () => (data) => {
    const chunk = parseChunk(data);
    return chunk ? [chunk] : undefined;
  },
};
