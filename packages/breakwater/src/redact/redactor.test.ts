import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { createRedactor, DEFAULT_SECRET_PATTERNS, redact } from './redactor.js';

const secretArb = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9]{20,40}$/).map((s) => `sk-proj-${s}`),
  fc.stringMatching(/^[A-Za-z0-9]{20,40}$/).map((s) => `sk-ant-api03-${s}`),
  fc.stringMatching(/^[A-Z0-9]{16}$/).map((s) => `AKIA${s}`),
  fc.stringMatching(/^[A-Za-z0-9_-]{35}$/).map((s) => `AIza${s}`),
  fc
    .tuple(
      fc.stringMatching(/^[A-Za-z0-9_-]{10,30}$/),
      fc.stringMatching(/^[A-Za-z0-9_-]{10,30}$/),
      fc.stringMatching(/^[A-Za-z0-9_-]{10,30}$/),
    )
    .map(([a, b, c]) => `eyJ${a}.${b}.${c}`),
);
const textArb = fc.string({ maxLength: 40 }).map((s) => s.replace(/[A-Za-z0-9_-]$/, ''));

describe('redaction', () => {
  test('a secret embedded anywhere in text never survives', () => {
    fc.assert(
      fc.property(textArb, secretArb, textArb, (before, secret, after) => {
        const out = redact.string(`${before} ${secret} ${after}`);
        assert.ok(!out.includes(secret), out);
      }),
      { numRuns: 2000 },
    );
  });

  test('bearer tokens, URL query secrets and userinfo passwords', () => {
    const text =
      'Authorization: Bearer abc.def-ghi_jkl GET https://api.test/v1?key=AIzaSyD-123456&model=x postgres://app:hunter2pass@db:5432/x';
    const out = redact.string(text);
    for (const secret of ['abc.def-ghi_jkl', 'AIzaSyD-123456', 'hunter2pass']) assert.ok(!out.includes(secret), out);
    assert.ok(out.includes('model=x'), 'ordinary parameters survive');
    assert.ok(out.includes('postgres://app:'), 'the user name survives, only the password goes');
  });

  test('key names mask any value; objects are deep-copied, cycles and errors handled', () => {
    const input: Record<string, unknown> = {
      headers: { Authorization: 'x', 'X-Api-Key': 'y', accept: 'json' },
      password: 'p',
      list: [{ token: 't' }],
    };
    input['self'] = input;
    const out = redact.value(input) as Record<string, any>;
    assert.equal(out.headers.Authorization, '[REDACTED]');
    assert.equal(out.headers['X-Api-Key'], '[REDACTED]');
    assert.equal(out.headers.accept, 'json');
    assert.equal(out.password, '[REDACTED]');
    assert.equal(out.list[0].token, '[REDACTED]');
    assert.equal(out.self, '[Circular]');
    assert.equal(input.password, 'p', 'the input is not mutated');
    const err = redact.value(
      new Error('failed with sk-abcdefghijklmnopqrst', { cause: new Error('Bearer zzzzzzzzzzzz') }),
    ) as any;
    assert.ok(!JSON.stringify(err).includes('sk-abcdefghijklmnopqrst'));
    assert.ok(!JSON.stringify(err).includes('zzzzzzzzzzzz'));
  });

  test('configured literals (keys read from env) are removed wherever they appear', () => {
    const redactor = createRedactor({ literals: ['my-provider-key-42', 'abc'] });
    assert.equal(redactor.string('use my-provider-key-42 now'), 'use [REDACTED] now');
    assert.equal(redactor.string('abc stays: too short to be a key'), 'abc stays: too short to be a key');
  });
});

test('token counts are not credentials: numbers under *tokens keys are kept, token strings are not', () => {
  const out = redact.value({
    usage: { prompt_tokens: 12, completion_tokens: 11 },
    max_tokens: 512,
    token: 'abc123secret',
    access_token: 42,
  });
  assert.deepEqual(out, {
    usage: { prompt_tokens: 12, completion_tokens: 11 },
    max_tokens: 512,
    token: '[REDACTED]',
    access_token: '[REDACTED]',
  });
});

/** Every pattern applied in turn, as the redactor is specified: the screen must never change an answer. */
function everyPattern(text: string, patterns: readonly RegExp[]): string {
  let out = text;
  for (const pattern of patterns) {
    pattern.lastIndex = 0;
    out = out.replace(pattern, (match, prefix: unknown) =>
      typeof prefix === 'string' && match.startsWith(prefix) && prefix.length < match.length
        ? prefix + '[REDACTED]'
        : '[REDACTED]',
    );
  }
  return out;
}

test('the one-scan screen never changes what is redacted: same output as running every pattern', () => {
  // Case matters to some patterns (AKIA…), not to the screen; a `u`-flag pattern and one with a
  // backreference cannot be joined into it and run on every string.
  const custom = [/\bcase-[a-z]{4}\b/g, /\bpin=\p{Nd}{4}/gu, /(["'])hidden\1/g];
  const redactor = createRedactor({ patterns: custom });
  const patterns = [...DEFAULT_SECRET_PATTERNS, ...custom];
  const fragment = fc.oneof(
    secretArb,
    textArb,
    fc.constantFrom(
      'Bearer abcdefgh',
      'bearer abcdefgh',
      'akia0123456789abcdef',
      'AKIA0123456789ABCDEF',
      '?key=v&x=1',
      'https://u:p4ss@h/',
      'CASE-abcd',
      'case-abcd',
      'pin=1234',
      '"hidden"',
      '\'hidden"',
    ),
  );
  fc.assert(
    fc.property(fc.array(fragment, { maxLength: 6 }), (parts) => {
      const text = parts.join(' ');
      assert.equal(redactor.string(text), everyPattern(text, patterns));
    }),
    { numRuns: 3000 },
  );
});

test('secret key names are decided the same however often they are seen (the cache holds)', () => {
  const redactor = createRedactor();
  for (let i = 0; i < 3000; i++) {
    const out = redactor.value({ [`field${i}`]: 'v', Authorization: 'x', model: 'm' }) as Record<string, unknown>;
    assert.equal(out['Authorization'], '[REDACTED]');
    assert.equal(out[`field${i}`], 'v');
    assert.equal(out['model'], 'm');
  }
});

test('an own __proto__ key (JSON.parse makes one) is copied as data, never as the copy’s prototype', () => {
  const input = JSON.parse('{"__proto__":{"password":"p","polluted":true},"a":1}') as Record<string, unknown>;
  const out = redact.value(input);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.equal((out as { polluted?: unknown }).polluted, undefined);
  assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, {
    password: '[REDACTED]',
    polluted: true,
  });
});

test('json(): a JSON copy redacted like value(), with no depth bound; null for what cannot be serialised', () => {
  const redactor = createRedactor({ literals: ['literal-secret-123'] });
  let deep: Record<string, unknown> = { token: 'abc', prompt_tokens: 3, text: 'has literal-secret-123' };
  for (let i = 0; i < 12; i++) deep = { child: deep };
  const input = { deep, when: new Date(0), gone: undefined, err: new Error('failed with Bearer abcdefghijkl') };
  const out = redactor.json!(input) as Record<string, any>;
  let leaf = out['deep'];
  for (let i = 0; i < 12; i++) leaf = leaf.child;
  assert.deepEqual(leaf, { token: '[REDACTED]', prompt_tokens: 3, text: 'has [REDACTED]' });
  assert.equal(out['when'], '1970-01-01T00:00:00.000Z');
  assert.ok(!('gone' in out));
  assert.equal(out['err'].name, 'Error');
  assert.ok(!out['err'].message.includes('abcdefghijkl'), out['err'].message);
  const cycle: Record<string, unknown> = {};
  cycle['self'] = cycle;
  assert.equal(redactor.json!(cycle), null);
  assert.equal(redactor.json!(undefined), null);
});

test('json(): the same output whether or not anything needed redacting (the check never lets a secret through)', () => {
  const redactor = createRedactor({ literals: ['literal-secret-123'] });
  const key = fc.constantFrom(
    'authorization',
    'Api_Key',
    'prompt_tokens',
    'content',
    'model',
    'token',
    'name',
    '0',
    '__proto__',
  );
  const text = fc.oneof(
    textArb,
    secretArb,
    fc.constantFrom('Bearer abcdefgh', '?key=v&x=1', 'https://u:p4ss@h/', 'has literal-secret-123', '', 'hello'),
  );
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      text,
      fc.integer(),
      // -0, NaN and the infinities: JSON writes them 0 and null.
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      // What JSON leaves out of an object and writes as null in an array, or writes its own way.
      fc.constantFrom(() => 1, Symbol('s'), new Number(2), new String('boxed'), new Date(Number.NaN), -0),
      fc.date({ noInvalidDate: true }),
      fc.array(tie('tree'), { maxLength: 4 }),
      fc.sparseArray(tie('tree'), { maxLength: 4 }),
      fc.dictionary(key, tie('tree'), { maxKeys: 4 }),
    ),
  }));
  // The oracle: what the careful path gives, the value's every key and string passed through the nets.
  const oracle = (value: unknown): unknown => {
    const text = JSON.stringify(value, (k: string, v: unknown) => {
      if (
        k !== '' &&
        redactor.isSecretKey(k) &&
        v != null &&
        v !== '' &&
        !(typeof v === 'number' && /tokens$/i.test(k))
      )
        return '[REDACTED]';
      return typeof v === 'string' ? redactor.string(v) : v;
    });
    return text === undefined ? null : JSON.parse(text);
  };
  fc.assert(
    fc.property(tree, (value) => assert.deepEqual(redactor.json!(value), oracle(value))),
    { numRuns: 2000 },
  );
});
