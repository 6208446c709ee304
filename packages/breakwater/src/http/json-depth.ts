/** Default bound on JSON nesting for request bodies: deep enough for any real schema, far from a stack overflow. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/**
 * True when `text` nests arrays/objects deeper than `max`. One pass over the characters, strings
 * skipped: cheap enough to run before `JSON.parse`, so a nesting bomb is a 400 instead of a
 * stack overflow later (in validation, in `JSON.stringify` on the way upstream).
 */
export function jsonNestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}
