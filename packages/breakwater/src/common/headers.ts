/**
 * Reads one header from any of the shapes clients hand us: a fetch `Headers`, Node's
 * `IncomingHttpHeaders` (lower-case keys, arrays for repeats), a `Map`, or a plain record.
 */
export type HeaderSource = unknown;

export function headerValue(headers: HeaderSource, name: string): string | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  const getter = (headers as { get?: unknown }).get;
  if (typeof getter === 'function') {
    const value: unknown = getter.call(headers, name);
    return typeof value === 'string' ? value : undefined;
  }
  const record = headers as Record<string, unknown>;
  const direct = record[name] ?? record[name.toLowerCase()] ?? findCaseInsensitive(record, name);
  if (Array.isArray(direct)) return typeof direct[0] === 'string' ? direct[0] : undefined;
  return typeof direct === 'string' ? direct : typeof direct === 'number' ? String(direct) : undefined;
}

function findCaseInsensitive(record: Record<string, unknown>, name: string): unknown {
  const lower = name.toLowerCase();
  for (const key of Object.keys(record)) if (key.toLowerCase() === lower) return record[key];
  return undefined;
}
