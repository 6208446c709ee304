/** How deep a cause chain may go before we stop (AWS SDK uses 10 too). */
const MAX_DEPTH = 10;
/** How many nodes we look at in all, so a hostile error graph cannot make classification slow. */
const MAX_NODES = 64;

/**
 * Every value reachable from a thrown value, outermost first (breadth-first): `.cause`,
 * `AggregateError.errors` (happy-eyeballs connects, Promise.any), and the Vercel AI SDK's
 * `RetryError.lastError`. Cycle-safe and bounded; never throws, even on hostile getters.
 */
export function* causeChain(root: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  let level: unknown[] = [root];
  for (let depth = 0; depth <= MAX_DEPTH && level.length > 0; depth++) {
    const next: unknown[] = [];
    for (const node of level) {
      if (seen.has(node) || seen.size >= MAX_NODES) continue;
      seen.add(node);
      yield node;
      next.push(...children(node));
    }
    level = next;
  }
}

function children(node: unknown): unknown[] {
  if (node === null || typeof node !== 'object') return [];
  try {
    const out: unknown[] = [];
    const { lastError, cause, errors } = node as { lastError?: unknown; cause?: unknown; errors?: unknown };
    if (lastError !== undefined) out.push(lastError);
    if (cause !== undefined && cause !== null) out.push(cause);
    if (Array.isArray(errors)) out.push(...errors.slice(0, MAX_NODES));
    return out;
  } catch {
    return [];
  }
}

/** Reads a property without letting a throwing getter or a Proxy trap escape. */
export function read(value: unknown, key: string): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

export function readString(value: unknown, key: string): string | undefined {
  const v = read(value, key);
  return typeof v === 'string' ? v : undefined;
}

export function readNumber(value: unknown, key: string): number | undefined {
  const v = read(value, key);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Names of the classes in a value's prototype chain (`RateLimitError`, `APIError`, `OpenAIError`, …). */
export function classNames(value: unknown): string[] {
  const names: string[] = [];
  try {
    let proto: unknown = value === null || typeof value !== 'object' ? null : Object.getPrototypeOf(value);
    for (let i = 0; proto && i < 8; i++) {
      const ctor = (proto as { constructor?: { name?: unknown } }).constructor;
      if (typeof ctor?.name === 'string' && ctor.name !== 'Object') names.push(ctor.name);
      proto = Object.getPrototypeOf(proto);
    }
  } catch {
    // A hostile prototype chain classifies as unknown, never crashes the classifier.
  }
  return names;
}
