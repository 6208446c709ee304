import { withTopLevel } from 'breakwater/http';
import { copyWith } from './copy-with.js';
import { emptyResult, type ChatProtocol, type NativeRequest, type TranslationTarget } from './protocol.js';
import { parseChunk } from './stream-reader.js';

/** OpenAI and every OpenAI-compatible server: the request and the answer pass through as they are. */
export const openAIProtocol: ChatProtocol = {
  kind: 'openai',
  probePath: '/models',
  embeddings: true,
  headers: (apiKey): Record<string, string> => (apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
  chatRequest: (body, target, _stream, bodyText) => passThrough('/chat/completions', body, target, bodyText),
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

/**
 * The request with the target's model: `bodyText` (the body's text: the client's own, perhaps with
 * a field spliced in already) with the model spliced in when it can be — a prompt of tens of KB is
 * not serialised again, and goes upstream as the client wrote it — else the body serialised.
 */
export function passThrough(
  path: string,
  body: Record<string, unknown>,
  target: TranslationTarget,
  bodyText: string | undefined,
): NativeRequest {
  const text = bodyText ? withTopLevel(bodyText, { model: target.model }) : undefined;
  return { path, body: copyWith<unknown>(body, 'model', target.model), text };
}
