import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { OperationStatus, TransitionGuard, TransitionPatch } from './operation.js';
import { PATCH_COLUMNS, pushPatchValues, shapeColumns, updateShape } from './sql-rows.js';

// The SQL stores build an UPDATE's text once per shape and reuse it: two writes may share a
// statement only if they set the same columns and check the same number of statuses, the owner or
// not, and return the row or not. A key collision would run a write with another's columns.
const KEYS = Object.keys(PATCH_COLUMNS) as Array<keyof TransitionPatch>;
const STATUSES: OperationStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];

const write = fc.record({
  patch: fc.dictionary(
    fc.constantFrom(...KEYS),
    fc.oneof(fc.constant(null), fc.integer(), fc.string(), fc.dictionary(fc.string(), fc.integer())),
  ) as fc.Arbitrary<TransitionPatch>,
  from: fc.subarray(STATUSES, { minLength: 1 }),
  owner: fc.option(fc.string(), { nil: undefined }),
  returning: fc.boolean(),
});
type Write = { patch: TransitionPatch; from: OperationStatus[]; owner: string | undefined; returning: boolean };
const guardOf = (w: Write): TransitionGuard =>
  w.owner === undefined ? { from: w.from } : { from: w.from, leaseOwner: w.owner };
const sameShape = (a: Write, b: Write): boolean =>
  KEYS.every((k) => (a.patch[k] === undefined) === (b.patch[k] === undefined)) &&
  a.from.length === b.from.length &&
  (a.owner === undefined) === (b.owner === undefined) &&
  a.returning === b.returning;

test('two writes share a statement key exactly when their UPDATEs have the same shape', () => {
  fc.assert(
    fc.property(write, write, (a, b) => {
      const keyA = updateShape(a.patch, guardOf(a), a.returning).key;
      const keyB = updateShape(b.patch, guardOf(b), b.returning).key;
      assert.equal(keyA === keyB, sameShape(a, b));
    }),
    { numRuns: 2_000 },
  );
});

test("a shape's values line up with its columns, JSON columns as text", () => {
  fc.assert(
    fc.property(write, (w) => {
      const { mask } = updateShape(w.patch, guardOf(w), w.returning);
      const columns = shapeColumns(mask);
      const values: unknown[] = [];
      pushPatchValues(values, w.patch, mask);
      assert.equal(values.length, columns.length);
      columns.forEach((column, i) => {
        const key = KEYS.find((k) => PATCH_COLUMNS[k] === column)!;
        const value = w.patch[key];
        const json = column === 'result' && value !== null;
        assert.deepEqual(values[i], json ? JSON.stringify(value) : value);
      });
    }),
  );
});
