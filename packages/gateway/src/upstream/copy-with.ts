/**
 * A copy of `source` with `key` set to `value`, built key by key rather than by spread: it runs on
 * every request, and on Node 20 an object made by spread on the request path kept young objects
 * alive through young-generation collections (gateway README, "Measured"). Every key is defined as
 * the source's own, `__proto__` included, as a spread copies it (an assignment would set the copy's
 * prototype instead).
 */
export function copyWith<V>(source: Readonly<Record<string, V>>, key: string, value: V): Record<string, V> {
  const copy: Record<string, V> = {};
  for (const name of Object.keys(source)) {
    if (name === '__proto__')
      Object.defineProperty(copy, name, { value: source[name], enumerable: true, writable: true, configurable: true });
    else copy[name] = source[name]!;
  }
  copy[key] = value;
  return copy;
}
