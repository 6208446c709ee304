import assert from 'node:assert/strict';
import { classify, type BreakwaterError, type Category, type ClassifyOptions } from 'breakwater';
import { type Rule } from 'breakwater/rules';

export interface Expected {
  rule: Rule;
  category?: Category;
  code?: string;
  retryable?: boolean;
  /** Exact delay, or a [min, max] range for delays computed from a clock (HTTP-date). */
  retryAfterMs?: number | [number, number] | undefined;
  status?: number;
  dependency?: string;
}

/**
 * Asserts how a real client's failure classifies and records which rows of the table were proven.
 * Each conformance file ends with `assertCovered`, so a new row without a real-client case fails.
 */
export function conformance(tables: Array<Record<string, Rule>>) {
  const hit = new Set<string>();
  const rules = tables.flatMap((t) => Object.values(t));
  return {
    expect(thrown: unknown, expected: Expected, options?: ClassifyOptions): BreakwaterError {
      const error = classify(thrown, options);
      const context = `${expected.rule.id}: got ${JSON.stringify({ rule: error.rule, code: error.code, category: error.category, retryable: error.retryable, retryAfterMs: error.retryAfterMs })} from ${String((thrown as Error)?.message ?? thrown)}`;
      assert.equal(error.rule, expected.rule.id, context);
      assert.equal(error.category, expected.category ?? expected.rule.category, context);
      assert.equal(error.retryable, expected.retryable ?? expected.rule.retryable, context);
      if (expected.code !== undefined) assert.equal(error.code, expected.code, context);
      if (expected.status !== undefined) assert.equal(error.status, expected.status, context);
      if (expected.dependency !== undefined) assert.equal(error.dependency, expected.dependency, context);
      if (Array.isArray(expected.retryAfterMs)) {
        const [min, max] = expected.retryAfterMs;
        assert.ok(error.retryAfterMs !== undefined && error.retryAfterMs >= min && error.retryAfterMs <= max, context);
      } else if ('retryAfterMs' in expected) {
        assert.equal(error.retryAfterMs, expected.retryAfterMs, context);
      }
      hit.add(expected.rule.id);
      return error;
    },
    assertCovered(except: Rule[] = []): void {
      const skipped = new Set(except.map((r) => r.id));
      const missing = rules.filter((r) => !hit.has(r.id) && !skipped.has(r.id)).map((r) => r.id);
      assert.deepEqual(missing, [], `rows of the classification table with no real-client case: ${missing.join(', ')}`);
    },
  };
}

/** Runs `fn` and returns what it threw; fails if it did not throw. */
export async function thrownBy(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to throw');
}
