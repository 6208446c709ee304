/**
 * `target[key] = value` that keeps `__proto__` as data: JSON.parse makes it an own key, and an
 * assignment would set the copy's prototype instead (the value lost, the copy's inheritance chosen
 * by whoever wrote the JSON).
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
