import { closingQuote } from './json-scan.js';

/**
 * A JSON object's text with one top-level key set to a string, spliced into the text itself: the
 * rest stays byte for byte as it was, and nothing is serialised again — what a proxy that changes
 * one field (the model) wants for a body of tens of KB (a 32 KB chat body cost ~70 µs to
 * `JSON.stringify`; the splice is one scan with strings crossed by `indexOf`). `text` must be JSON
 * that parsed.
 *
 * Returns undefined — the caller serialises the parsed body instead — whenever splicing could
 * differ from what `JSON.parse` made of the text: not an object, `key` absent, `key` present twice
 * (the parser keeps the last), or written with escapes that another top-level key might share.
 */
export function withTopLevelString(text: string, key: string, value: string): string | undefined {
  let depth = 0;
  let expectKey = false;
  let pendingValue = false;
  let valueStart = -1;
  let valueEnd = -1;
  let capturing = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = closingQuote(text, i);
      if (depth === 1 && expectKey) {
        expectKey = false;
        const name = keyName(text, i, end);
        if (name === undefined) return undefined;
        if (name === key) {
          if (valueStart !== -1 || pendingValue) return undefined;
          pendingValue = true;
        }
      }
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth === 1) {
        if (c !== OPEN_BRACE || i !== firstNonSpace(text)) return undefined;
        expectKey = true;
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 1 && capturing) [valueEnd, capturing] = [i, false];
      depth--;
    } else if (depth === 1 && c === COMMA) {
      if (capturing) [valueEnd, capturing] = [i, false];
      expectKey = true;
    } else if (depth === 1 && c === COLON && pendingValue) {
      [valueStart, capturing, pendingValue] = [i + 1, true, false];
    }
  }
  if (depth !== 0 || valueStart === -1 || valueEnd === -1) return undefined;
  return `${text.slice(0, valueStart)}${JSON.stringify(value)}${text.slice(valueEnd)}`;
}

const QUOTE = 0x22;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** A key as the parser reads it; undefined for an escaped one (rare: then the caller serialises). */
function keyName(text: string, open: number, close: number): string | undefined {
  const raw = text.slice(open + 1, close);
  return raw.includes('\\') ? undefined : raw;
}

function firstNonSpace(text: string): number {
  let i = 0;
  while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  return i;
}
