import { closingQuote } from './json-scan.js';

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
