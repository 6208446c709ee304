import { closingQuote } from './json-scan.js';

/**
 * A JSON object's text with some top-level keys set, spliced into the text itself: a key present
 * is given its new value in place, an absent one is added first; the rest stays byte for byte as it
 * was, and nothing is serialised again — what a proxy that changes a field or two (the model, a
 * stream option) wants for a body of tens of KB (a 32 KB chat body cost ~65 µs to `JSON.stringify`;
 * the splice is one scan with strings crossed by `indexOf`). `text` must be JSON that parsed;
 * `values` are serialised with `JSON.stringify`.
 *
 * Returns undefined — the caller serialises the parsed body instead — whenever splicing could
 * differ from what `JSON.parse` made of the text: not an object, a key to set present twice (the
 * parser keeps the last), or any top-level key written with escapes (it could be another spelling
 * of a key to set).
 */
export function withTopLevel(text: string, values: Readonly<Record<string, unknown>>): string | undefined {
  const spans = new Map<string, [start: number, end: number]>();
  let depth = 0;
  let open = -1;
  let members = 0;
  let expectKey = false;
  let pending: string | undefined;
  let capturing: string | undefined;
  let valueStart = -1;
  const endValue = (at: number): void => {
    if (capturing === undefined) return;
    spans.set(capturing, [valueStart, at]);
    capturing = undefined;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = closingQuote(text, i);
      if (depth === 1 && expectKey) {
        expectKey = false;
        members++;
        const name = keyName(text, i, end);
        if (name === undefined) return undefined;
        if (Object.hasOwn(values, name)) {
          if (spans.has(name) || capturing === name) return undefined;
          pending = name;
        }
      }
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth === 1) {
        if (c !== OPEN_BRACE || i !== firstNonSpace(text)) return undefined;
        [open, expectKey] = [i, true];
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 1) endValue(i);
      depth--;
    } else if (depth === 1 && c === COMMA) {
      endValue(i);
      expectKey = true;
    } else if (depth === 1 && c === COLON && pending !== undefined) {
      [valueStart, capturing, pending] = [i + 1, pending, undefined];
    }
  }
  if (depth !== 0 || open === -1 || pending !== undefined || capturing !== undefined) return undefined;
  // The last span first: the positions of the ones before it stay true.
  let out = text;
  for (const [key, [start, end]] of [...spans].sort((a, b) => b[1][0] - a[1][0]))
    out = `${out.slice(0, start)}${JSON.stringify(values[key])}${out.slice(end)}`;
  const added = Object.keys(values)
    .filter((key) => !spans.has(key))
    .map((key) => `${JSON.stringify(key)}:${JSON.stringify(values[key])}`);
  if (added.length === 0) return out;
  return `${out.slice(0, open + 1)}${added.join(',')}${members > 0 ? ',' : ''}${out.slice(open + 1)}`;
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
