/**
 * Where the JSON string opened by the quote at `open` ends: the next quote not escaped, i.e. not
 * after an odd run of backslashes (text.length when none). Crosses the string with `indexOf`, not a
 * character at a time: strings are nearly all of a chat body's bytes.
 */
export function closingQuote(text: string, open: number): number {
  for (let at = text.indexOf('"', open + 1); at !== -1; at = text.indexOf('"', at + 1)) {
    // The run of backslashes stops at the opening quote at the latest.
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === 0x5c /* \ */) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
  return text.length;
}
