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
  // Per key to set, where its value's text starts and ends (-1: not in the text). Arrays, not a Map:
  // this runs on every request, for one key or two.
  const keys = Object.keys(values);
  const starts: number[] = keys.map(() => -1);
  const ends: number[] = keys.map(() => -1);
  let depth = 0;
  let open = -1;
  let members = 0;
  let expectKey = false;
  let pending = -1; // the key whose colon comes next
  let capturing = -1; // the key whose value is being crossed
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = closingQuote(text, i);
      if (depth === 1 && expectKey) {
        expectKey = false;
        members++;
        const key = keyAt(text, i, end, keys);
        if (key === undefined) return undefined;
        if (key !== -1) {
          if (starts[key] !== -1 || capturing === key) return undefined;
          pending = key;
        }
      }
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth === 1) {
        if (c !== OPEN_BRACE || i !== firstNonSpace(text)) return undefined;
        open = i;
        expectKey = true;
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 1 && capturing !== -1) capturing = endValue(ends, capturing, i);
      depth--;
    } else if (depth === 1 && c === COMMA) {
      if (capturing !== -1) capturing = endValue(ends, capturing, i);
      expectKey = true;
    } else if (depth === 1 && c === COLON && pending !== -1) {
      starts[pending] = i + 1;
      capturing = pending;
      pending = -1;
    }
  }
  if (depth !== 0 || open === -1 || pending !== -1 || capturing !== -1) return undefined;
  return splice(text, open, members, keys, starts, ends, values);
}

/** Records where a value's text ends; answers -1 (nothing captured any more). */
function endValue(ends: number[], key: number, at: number): number {
  ends[key] = at;
  return -1;
}

/** The text with each present key's value replaced in place and the absent keys added first. */
function splice(
  text: string,
  open: number,
  members: number,
  keys: string[],
  starts: number[],
  ends: number[],
  values: Readonly<Record<string, unknown>>,
): string {
  const present = keys.map((_, key) => key).filter((key) => starts[key] !== -1);
  present.sort((a, b) => starts[a]! - starts[b]!);
  let out = '';
  let from = 0;
  for (const key of present) {
    out += `${text.slice(from, starts[key])}${JSON.stringify(values[keys[key]!])}`;
    from = ends[key]!;
  }
  out += text.slice(from);
  if (present.length === keys.length) return out;
  const added = keys
    .filter((_, key) => starts[key] === -1)
    .map((key) => `${JSON.stringify(key)}:${JSON.stringify(values[key])}`);
  return `${out.slice(0, open + 1)}${added.join(',')}${members > 0 ? ',' : ''}${out.slice(open + 1)}`;
}

const QUOTE = 0x22;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const BACKSLASH = 0x5c;

/**
 * Which of `keys` the key quoted from `open` to `close` is (-1: none), compared in place (no string
 * is cut out of the text per key); undefined for a key written with escapes (rare: then the caller
 * serialises).
 */
function keyAt(text: string, open: number, close: number, keys: readonly string[]): number | undefined {
  for (let at = open + 1; at < close; at++) if (text.charCodeAt(at) === BACKSLASH) return undefined;
  const length = close - open - 1;
  for (let key = 0; key < keys.length; key++)
    if (keys[key]!.length === length && text.startsWith(keys[key]!, open + 1)) return key;
  return -1;
}

function firstNonSpace(text: string): number {
  let i = 0;
  while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  return i;
}
