/**
 * One server-sent event's data; `done` for a `[DONE]` line; `ended` when the body ended without
 * one (whether that is a complete answer depends on what came before: a `finish_reason` or not).
 */
export type SseData = { data: string } | { done: true } | { ended: true; partialEvent: boolean };

/**
 * Splits a byte stream into SSE `data` payloads. Comments and other fields are ignored; a
 * `[DONE]` data line ends the stream, as OpenAI-compatible servers send it. Errors of the body
 * itself (a reset, the size cap) are thrown as they are, for the caller to classify.
 */
export async function* sseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseData> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let boundary: number;
    while ((boundary = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const raw = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, '');
      const data = raw
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data === '') continue;
      if (data === '[DONE]') {
        yield { done: true };
        return;
      }
      yield { data };
    }
  }
  yield { ended: true, partialEvent: buffer.trim() !== '' };
}
