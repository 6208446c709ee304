import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BreakwaterError, clientStatus, isBreakwaterError } from './breakwater-error.js';
import { CATEGORIES, CATEGORY_TABLE } from './categories.js';
import { Errors } from './codes.js';
import { defineError } from './define-error.js';
import { definedErrorCodes } from './registry.js';

describe('BreakwaterError', () => {
  test('every built-in code: documented, well-formed, and status/category as its definition says', () => {
    for (const factory of Object.values(Errors)) {
      const error = factory();
      assert.equal(error.code, factory.code);
      assert.match(error.code, /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/);
      assert.equal(error.category, factory.definition.category);
      assert.equal(error.status, factory.definition.status ?? clientStatus(error.category, error.origin));
      assert.ok(factory.definition.description.length > 10, `${error.code} has a description`);
      assert.ok(factory.definition.howToSolve, `${error.code} says how to solve it`);
      assert.equal(error.name, 'BreakwaterError');
      assert.ok(error instanceof Error && error instanceof BreakwaterError);
    }
  });

  test('a dependency rejecting our credentials or config is a 502 for the client, an error-level log', () => {
    for (const category of ['authentication', 'permission', 'not_found'] as const) {
      const upstream = new BreakwaterError({ code: 'X_Y', category, origin: 'dependency' });
      assert.equal(upstream.status, 502);
      assert.equal(upstream.logLevel, 'error');
      const own = new BreakwaterError({ code: 'X_Y', category, origin: 'caller' });
      assert.equal(own.status, CATEGORY_TABLE[category].status);
    }
  });

  test('defaults come from the category table', () => {
    for (const category of CATEGORIES) {
      const error = new BreakwaterError({ code: 'T_CODE', category, origin: 'self' });
      assert.equal(error.retryable, CATEGORY_TABLE[category].retryable);
      assert.equal(error.isDependencyFault, CATEGORY_TABLE[category].breakerFault);
      assert.equal(error.userMessage, CATEGORY_TABLE[category].userMessage);
    }
  });

  test('instanceof works across two copies of the package (a registered-symbol brand)', () => {
    const foreign = Object.create(Error.prototype) as Record<symbol, unknown>;
    Object.defineProperty(foreign, Symbol.for('breakwater.error'), { value: true });
    assert.ok(isBreakwaterError(foreign));
    assert.ok((foreign as unknown) instanceof BreakwaterError);
    assert.ok(!(new Error('plain') instanceof BreakwaterError));
  });

  test('toJSON redacts secrets in the message, details and cause, and carries no stack', () => {
    const cause = new Error('upstream said: Authorization: Bearer abcdefghijklmnop');
    const error = new BreakwaterError({
      code: 'LLM_AUTH_FAILED',
      category: 'authentication',
      origin: 'dependency',
      message: 'key sk-proj-abcdefghijklmnopqrstuv rejected',
      details: { api_key: 'plain-looking-value', nested: { url: 'https://x.test/v1?key=AIzaSyA-secret-value' } },
      cause,
    });
    const text = JSON.stringify(error);
    for (const secret of [
      'sk-proj-abcdefghijklmnopqrstuv',
      'abcdefghijklmnop',
      'plain-looking-value',
      'AIzaSyA-secret-value',
    ]) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.ok(!text.includes('"stack"'));
  });
});

describe('defineError: users define codes that behave like built-in ones', () => {
  test('a user code renders, narrows and is listed', () => {
    const PaymentDeclined = defineError({
      code: 'PAYMENT_CARD_DECLINED',
      category: 'validation',
      origin: 'caller',
      status: 402,
      description: 'The card was declined by the issuer.',
      howToSolve: 'Use another card.',
    });
    const error = PaymentDeclined({ details: { last4: '4242' } });
    assert.equal(error.status, 402);
    assert.ok(PaymentDeclined.is(error));
    assert.ok(!PaymentDeclined.is(Errors.internal()));
    assert.ok(definedErrorCodes().some((d) => d.code === 'PAYMENT_CARD_DECLINED'));
  });

  test('bad definitions fail loudly, naming the option', () => {
    assert.throws(() => defineError({ code: 'lower_case', category: 'internal', description: 'x' }), /`code`/);
    assert.throws(() => defineError({ code: 'A_B', category: 'nope' as never, description: 'x' }), /`category`/);
    assert.throws(() => defineError({ code: 'A_B', category: 'internal', status: 200, description: 'x' }), /`status`/);
    assert.throws(() => defineError({ code: 'A_B', category: 'internal', description: '' }), /`description`/);
    defineError({ code: 'DUP_CODE', category: 'internal', description: 'first' });
    assert.throws(
      () => defineError({ code: 'DUP_CODE', category: 'timeout', description: 'second' }),
      /already defined/,
    );
  });
});
