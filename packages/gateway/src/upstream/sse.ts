/** One server-sent event's data, or the end of the stream. */
export type SseData = { data: string } | { done: true };

/**
 * Splits a byte stream into SSE `data` payloads. Comments and other fields are ignored; a
 * `[DONE]` data line ends the stream, as OpenAI-compatible servers send it.
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
  if (buffer.trim() !== '')
    throw Object.assign(new Error('The upstream stream ended in the middle of an event.'), { code: 'UND_ERR_SOCKET' });
}
