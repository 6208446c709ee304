/**
 * Redaction: applied before anything leaves the process (logs, responses, journal rows, metric
 * labels, exceptions serialised with toJSON). Two independent nets, because either alone misses:
 * - by key name: a field called `authorization` is secret whatever its value looks like;
 * - by value pattern: an OpenAI key pasted into an error message has no key name around it.
 */

import { setOwn } from '../common/set-own.js';

export const REDACTED = '[REDACTED]';

/** Key names whose values are always secret (matched case-insensitively, anywhere in the name). */
export const DEFAULT_SECRET_KEYS: readonly string[] = [
  'password',
  'passwd',
  'secret',
  'token',
  'api_key',
  'apikey',
  'api-key',
  'authorization',
  'cookie',
  'credential',
  'private_key',
  'privatekey',
  'session_key',
  'x-api-key',
  'access_key',
  'signature',
];

/** Value patterns that are secret wherever they appear. Each must have the `g` flag. */
export const DEFAULT_SECRET_PATTERNS: readonly RegExp[] = [
  // OpenAI / Anthropic / most "sk-" style keys (sk-proj-…, sk-ant-api03-…).
  /\bsk-[A-Za-z0-9_-]{8,}/g,
  // Bearer and Basic credentials in header-like text.
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi,
  // Google API keys (Gemini): AIza + 35 characters.
  /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g,
  // AWS access key ids.
  /\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b/g,
  // JSON Web Tokens.
  /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g,
  // Secrets in URL query strings.
  /([?&;](?:key|api_key|apikey|api-key|token|access_token|refresh_token|secret|password|sig|signature|auth)=)[^&#\s"']+/gi,
  // Passwords in URL userinfo: scheme://user:password@host
  /(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)[^@\s/]+@/gi,
];

export interface RedactorOptions {
  /** Extra key names to treat as secret (added to the defaults unless `replaceDefaults`). */
  keys?: readonly string[];
  /** Extra value patterns (global regexes). A first capture group, if any, is kept. */
  patterns?: readonly RegExp[];
  /** Literal secrets known at start-up (e.g. the provider keys read from env): always removed. */
  literals?: readonly string[];
  replaceDefaults?: boolean;
  replacement?: string;
}

export interface Redactor {
  string(text: string): string;
  /** Deep copy with secret keys masked and every string scanned; cycle-safe, depth-bounded. */
  value<T>(value: T): T;
  /**
   * A JSON copy — what `JSON.parse(JSON.stringify(value))` gives (toJSON, undefined dropped, no depth
   * bound) — with the same redaction; null when the value cannot be serialised (a cycle). What the
   * journal stores. Optional for your own implementations: the journal falls back to `value`.
   */
  json?(value: unknown): unknown;
  isSecretKey(key: string): boolean;
}

const MAX_DEPTH = 8;
/** How deep json() checks before it takes the replacer path anyway (which has no depth bound). */
const CLEAN_CHECK_DEPTH = 32;
/** What `cleanCopy` answers when only the careful path (a replacer) gives the right copy. */
const UNCLEAN = Symbol('unclean');
/** A value JSON leaves out of an object (and writes as null in an array). */
const omittedByJson = (value: unknown): boolean =>
  value === undefined || typeof value === 'function' || typeof value === 'symbol';
const isBoxedPrimitive = (value: object): boolean =>
  value instanceof Number || value instanceof String || value instanceof Boolean;
const MIN_LITERAL_LENGTH = 6;
const KEY_CACHE_SIZE = 1_024;

export function createRedactor(options: RedactorOptions = {}): Redactor {
  const replacement = options.replacement ?? REDACTED;
  const keys = [...(options.replaceDefaults ? [] : DEFAULT_SECRET_KEYS), ...(options.keys ?? [])].map((k) =>
    k.toLowerCase(),
  );
  const patterns = [...(options.replaceDefaults ? [] : DEFAULT_SECRET_PATTERNS), ...(options.patterns ?? [])];
  // Short literals would shred ordinary text; a real key is never this short.
  const literals = (options.literals ?? []).filter((s) => s.length >= MIN_LITERAL_LENGTH);

  // Key names repeat (every journal row, every log line has the same few): decided once each.
  const secretKeyCache = new Map<string, boolean>();
  const isSecretKey = (key: string): boolean => {
    let secret = secretKeyCache.get(key);
    if (secret === undefined) {
      const lower = key.toLowerCase();
      secret = keys.some((k) => lower.includes(k));
      if (secretKeyCache.size >= KEY_CACHE_SIZE) secretKeyCache.clear();
      secretKeyCache.set(key, secret);
    }
    return secret;
  };

  /** The key-name net: a secret key's value goes, unless it is empty or a token count. */
  const masked = (key: string, val: unknown): boolean =>
    isSecretKey(key) && val != null && val !== '' && !isTokenCount(key, val);

  const { screen, alwaysRun } = screenFor(patterns);
  const replacePattern = (text: string, pattern: RegExp): string => {
    pattern.lastIndex = 0;
    return text.replace(pattern, (match, prefix: unknown) =>
      typeof prefix === 'string' && match.startsWith(prefix) && prefix.length < match.length
        ? prefix + replacement
        : replacement,
    );
  };

  const string = (text: string): string => {
    let out = text;
    for (const literal of literals) {
      if (out.includes(literal)) out = out.split(literal).join(replacement);
    }
    // Most text holds no secret: one scan by the screen instead of one replace per pattern.
    if (screen === undefined || screen.test(out)) for (const pattern of patterns) out = replacePattern(out, pattern);
    else for (const pattern of alwaysRun) out = replacePattern(out, pattern);
    return out;
  };

  const walk = (input: unknown, depth: number, seen: WeakSet<object>): unknown => {
    if (typeof input === 'string') return string(input);
    if (input === null || typeof input !== 'object') return input;
    if (seen.has(input)) return '[Circular]';
    if (depth >= MAX_DEPTH) return '[Truncated]';
    seen.add(input);
    if (Array.isArray(input)) return input.map((item) => walk(item, depth + 1, seen));
    if (input instanceof Error) return walkError(input, depth, seen);
    const out: Record<string, unknown> = {};
    for (const [key, val] of Object.entries(input)) {
      setOwn(out, key, masked(key, val) ? replacement : walk(val, depth + 1, seen));
    }
    return out;
  };

  const walkError = (error: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> => {
    const out: Record<string, unknown> = { name: error.name, message: string(error.message) };
    if (error.stack) out['stack'] = string(error.stack);
    if (error.cause !== undefined) out['cause'] = walk(error.cause, depth + 1, seen);
    return out;
  };

  // The same two nets as `walk`, applied by JSON.stringify itself: one pass, one copy.
  const redactJson = (key: string, val: unknown): unknown => {
    if (key !== '' && masked(key, val)) return replacement;
    if (typeof val === 'string') return string(val);
    // As `walk` keeps them (JSON.stringify alone would write {}); the strings are redacted in turn.
    if (val instanceof Error)
      return { name: val.name, message: val.message, stack: val.stack, cause: val.cause as unknown };
    return val;
  };
  /**
   * The JSON copy of `input` — what `JSON.parse(JSON.stringify(input))` gives — made in one walk,
   * when redacting would change nothing in it: no masked key, no string the patterns touch. UNCLEAN
   * (the careful path) for anything else: a secret, what only a replacer sees or JSON writes its own
   * way (an Error, a toJSON other than a Date's, a boxed primitive, a bigint), and past a depth where a
   * cycle is likelier than data. Most results hold no secret, and for them this is one pass and one
   * copy instead of a check, a stringify and a parse (their text written only to be read back).
   */
  const cleanCopy = (input: unknown, depth: number): unknown => {
    switch (typeof input) {
      case 'string':
        return string(input) === input ? input : UNCLEAN;
      case 'number':
        // JSON writes -0 as 0 and what is not finite as null.
        return Number.isFinite(input) ? input + 0 : null;
      case 'boolean':
        return input;
      case 'object':
        return input === null ? null : cleanObjectCopy(input, depth);
      default:
        return UNCLEAN;
    }
  };
  const cleanObjectCopy = (input: object, depth: number): unknown => {
    if (depth >= CLEAN_CHECK_DEPTH || input instanceof Error || isBoxedPrimitive(input)) return UNCLEAN;
    if (typeof (input as { toJSON?: unknown }).toJSON === 'function')
      return input instanceof Date ? cleanCopy(input.toJSON(), depth) : UNCLEAN;
    if (Array.isArray(input)) {
      const out: unknown[] = new Array(input.length);
      for (let i = 0; i < input.length; i++) {
        const item: unknown = input[i];
        const copy = omittedByJson(item) ? null : cleanCopy(item, depth + 1);
        if (copy === UNCLEAN) return UNCLEAN;
        out[i] = copy;
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(input)) {
      const val = (input as Record<string, unknown>)[key];
      if (masked(key, val)) return UNCLEAN;
      if (omittedByJson(val)) continue;
      const copy = cleanCopy(val, depth + 1);
      if (copy === UNCLEAN) return UNCLEAN;
      setOwn(out, key, copy);
    }
    return out;
  };
  const json = (value: unknown): unknown => {
    try {
      const copy = cleanCopy(value, 0);
      if (copy !== UNCLEAN) return copy;
      const text = JSON.stringify(value, redactJson);
      return text === undefined ? null : (JSON.parse(text) as unknown);
    } catch {
      return null;
    }
  };

  return {
    string,
    isSecretKey,
    value: <T>(value: T): T => walk(value, 0, new WeakSet()) as T,
    json,
  };
}

/**
 * One case-insensitive regex matching wherever any of the patterns could (a superset: it only
 * decides whether the patterns need to run). Patterns it cannot stand in for run every time: other
 * flags than g and i (u, s, y change what a pattern means) or backreferences (numbered by position,
 * they would point elsewhere once joined).
 */
function screenFor(patterns: readonly RegExp[]): { screen: RegExp | undefined; alwaysRun: RegExp[] } {
  const joinable = patterns.filter((p) => /^[gi]*$/.test(p.flags) && !/\\[1-9]|\\k</.test(p.source));
  const alwaysRun = patterns.filter((p) => !joinable.includes(p));
  if (joinable.length === 0) return { screen: undefined, alwaysRun };
  try {
    return { screen: new RegExp(joinable.map((p) => `(?:${p.source})`).join('|'), 'i'), alwaysRun };
  } catch {
    // e.g. two patterns with the same named group: no screen, every pattern runs.
    return { screen: undefined, alwaysRun: [...patterns] };
  }
}

/**
 * `prompt_tokens: 12`, `max_tokens: 512`, `requestedTokens: 5000`: a number under a key ending in
 * "tokens" is a count, not a credential (a secret token is a string).
 */
function isTokenCount(key: string, value: unknown): boolean {
  return typeof value === 'number' && /tokens$/i.test(key);
}

/** The default redactor: default keys and patterns. */
export const redact: Redactor = createRedactor();
