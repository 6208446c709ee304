import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { collectIssues, fromZodError } from './validation.js';

describe('aggregated validation', () => {
  test('a zod error becomes one error listing every failing field', () => {
    const schema = z.object({
      model: z.string(),
      temperature: z.number().max(2),
      messages: z.array(z.object({ role: z.enum(['user', 'system']) })),
    });
    const result = schema.safeParse({ temperature: 9, messages: [{ role: 'robot' }] });
    assert.ok(!result.success);
    const error = fromZodError(result.error);
    assert.ok(error);
    assert.equal(error.code, 'VALIDATION_INVALID_INPUT');
    const paths = (error.details?.['issues'] as Array<{ path: string }>).map((i) => i.path).sort();
    assert.deepEqual(paths, ['messages.0.role', 'model', 'temperature']);
  });

  test('non-zod values are not mistaken for zod errors', () => {
    assert.equal(fromZodError(new Error('x')), undefined);
    assert.equal(fromZodError({ issues: [{ message: 'no path' }] }), undefined);
    assert.equal(fromZodError(null), undefined);
  });

  test("a user's own checks are collected and thrown together", () => {
    const issues = collectIssues()
      .check(false, 'age', 'must not be negative')
      .check(true, 'name', 'never')
      .add('email', 'invalid', 'format');
    assert.throws(
      () => issues.throwIfAny(),
      (error: unknown) => {
        const list = (error as { details: { issues: unknown[] } }).details.issues;
        return list.length === 2;
      },
    );
    assert.doesNotThrow(() => collectIssues().throwIfAny());
  });
});
