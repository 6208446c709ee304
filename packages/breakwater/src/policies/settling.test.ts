import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { CallContext } from './context.js';
import { circuitBreaker } from './breaker/circuit-breaker.js';
import { bulkhead } from './bulkhead.js';
import { invoke } from './invoke.js';
import { pipeline } from './pipeline.js';
import type { Callee, Next, Policy } from './policy.js';
import { retry } from './retry/retry-policy.js';
import { isSettling, runSettling, type SettlingPolicy } from './settling.js';
import { timeout } from './timeout.js';

/** How a stand-in policy behaves, as fast-check draws it. */
interface Behaviour {
  hooks: boolean;
  enter: 'state' | 'throw' | 'escape';
  scopes: boolean;
  onValue: 'pass' | 'transform' | 'throw';
  onError: 'rethrow' | 'recover' | 'again' | 'later';
}

const behaviour: fc.Arbitrary<Behaviour> = fc.record({
  hooks: fc.boolean(),
  enter: fc.constantFrom('state', 'state', 'state', 'throw', 'escape'),
  scopes: fc.boolean(),
  onValue: fc.constantFrom('pass', 'pass', 'transform', 'throw'),
  onError: fc.constantFrom('rethrow', 'recover', 'again', 'later'),
});

/**
 * A policy that writes what it sees to `trace`: the key it entered with, each outcome it settled.
 * With `hooks` it is a settling policy; without, a plain `run` written the usual way.
 */
function standIn(name: string, b: Behaviour, trace: string[]): Policy {
  let againLeft = 1;
  const settle = (state: string, ctx: CallContext, next: Next<unknown>, failed: boolean, outcome: unknown): unknown => {
    trace.push(
      `${name} settles ${failed ? 'error' : 'value'} ${String(outcome instanceof Error ? outcome.message : outcome)} (${state}, ${ctx.key})`,
    );
    if (!failed) {
      if (b.onValue === 'throw') throw new Error(`${name} refused ${String(outcome)}`);
      return b.onValue === 'transform' ? `${String(outcome)}+${name}` : outcome;
    }
    if (b.onError === 'recover') return `recovered by ${name}`;
    if (b.onError === 'again' && againLeft-- > 0) return invoke(next, ctx);
    if (b.onError === 'later') return Promise.resolve().then(() => Promise.reject(outcome));
    throw outcome;
  };
  const enter = (ctx: CallContext, next: Next<unknown>): string | CallContext | Promise<unknown> => {
    trace.push(`${name} enters (${ctx.key})`);
    if (b.enter === 'throw') throw new Error(`${name} rejects`);
    if (b.enter === 'escape')
      return Promise.resolve()
        .then(() => next(ctx))
        .then((v) => `${String(v)}~${name}`);
    return b.scopes ? ctx.withKey(`${ctx.key}/${name}`) : `state of ${name}`;
  };
  if (b.hooks) {
    const policy: SettlingPolicy<string | CallContext> = {
      scopes: b.scopes,
      enter,
      settle: (state, ctx, next, failed, outcome) =>
        settle(typeof state === 'string' ? state : 'scope', ctx, next, failed, outcome),
      run: (ctx, next) => runSettling(policy, ctx, next),
    };
    return policy;
  }
  return {
    run: async <T>(ctx: CallContext, next: Next<T>): Promise<T> => {
      const entered = enter(ctx, next as Next<unknown>);
      if (entered instanceof Promise) return entered as Promise<T>;
      const inner = typeof entered === 'string' ? ctx : entered;
      const state = typeof entered === 'string' ? entered : 'scope';
      try {
        const value = await next(inner);
        return settle(state, ctx, next as Next<unknown>, false, value) as T;
      } catch (error) {
        return settle(state, ctx, next as Next<unknown>, true, error) as T;
      }
    },
  };
}

/** The callee: fails on the calls listed, succeeds on the others. */
function callee(failOn: readonly number[], trace: string[]): Callee<string> {
  let calls = 0;
  return (ctx) => {
    calls++;
    trace.push(`callee #${calls} (${ctx.key})`);
    if (failOn.includes(calls)) throw new Error(`failure #${calls}`);
    return `value #${calls}`;
  };
}

/** The same policies, each entering through its own `run`: what fusing them must not change. */
function nestedOneByOne(policies: readonly Policy[]): Policy {
  return {
    run<T>(ctx: CallContext, next: Next<T>): Promise<T> {
      const at = (i: number, c: CallContext): Promise<T> =>
        i === policies.length ? invoke(next, c) : policies[i]!.run(c, (inner) => at(i + 1, inner));
      return at(0, ctx);
    },
  };
}

async function outcomeOf(work: Promise<unknown>): Promise<string> {
  return work.then(
    (value) => `value ${String(value)}`,
    (error: Error) => `error ${error.message}`,
  );
}

test('fused policies enter, call and settle exactly as the same policies nested one by one', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(behaviour, { minLength: 1, maxLength: 6 }),
      fc.subarray([1, 2, 3]),
      async (behaviours, failOn) => {
        const fusedTrace: string[] = [];
        const nestedTrace: string[] = [];
        const fused = pipeline(...behaviours.map((b, i) => standIn(`p${i}`, b, fusedTrace)));
        const nested = pipeline(nestedOneByOne(behaviours.map((b, i) => standIn(`p${i}`, b, nestedTrace))));
        const fusedOutcome = await outcomeOf(fused.execute(callee(failOn, fusedTrace), { key: 'k' }));
        const nestedOutcome = await outcomeOf(nested.execute(callee(failOn, nestedTrace), { key: 'k' }));
        assert.equal(fusedOutcome, nestedOutcome);
        assert.deepEqual(fusedTrace, nestedTrace);
      },
    ),
    { numRuns: 300 },
  );
});

test('retry, bulkhead, breaker and timeout are settling policies; a user policy with only `run` is not', () => {
  for (const policy of [retry(), bulkhead({ maxConcurrent: 1 }), circuitBreaker(), timeout(1_000)])
    assert.equal(isSettling(policy), true, policy.constructor.name);
  assert.equal(isSettling({ run: (ctx, next) => next(ctx) }), false);
});
