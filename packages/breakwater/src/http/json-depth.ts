/** Default bound on JSON nesting for request bodies: deep enough for any real schema, far from a stack overflow. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/**
 * True when `text` nests arrays/objects deeper than `max`. One pass, strings skipped: cheap enough
 * to run before `JSON.parse`, so a nesting bomb is a 400 instead of a stack overflow later (in
 * validation, in `JSON.stringify` on the way upstream). Strings — nearly all of a prompt's bytes —
 * are crossed with `indexOf`, not a character at a time: a 32 KB chat body took ~140 µs by
 * characters, 7× its own `JSON.parse`.
 */
export function jsonNestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) i = closingQuote(text, i);
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}

/** Where the string opened at `open` ends: the next quote not escaped (text.length when none). */
function closingQuote(text: string, open: number): number {
  for (let at = text.indexOf('"', open + 1); at !== -1; at = text.indexOf('"', at + 1)) {
    // Escaped when an odd run of backslashes stands before it (the run stops at the opening quote).
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === 0x5c /* \ */) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
  return text.length;
}
