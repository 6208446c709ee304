import type { CallContext } from './context.js';
import { invoke } from './invoke.js';
import type { Next, Policy } from './policy.js';

/**
 * A policy whose work around a call is synchronous when the call enters and when it settles: a
 * breaker's admission and count, a timeout's deadline and release, a retry's first attempt, a
 * bulkhead's free slot. `pipeline` fuses each run of such policies into one step: their `enter`s
 * outermost first, the rest of the pipeline, then their `settle`s innermost first, all in ONE
 * promise reaction. Each policy chaining its own `.then` would cost a reaction apiece (a promise,
 * two closures and a microtask), which is most of what a policy adds to a call.
 *
 * `run` stays the contract every policy keeps (a nested pipeline, `alternatives`, a user's own
 * policy call it); a settling policy implements it with `runSettling`.
 */
export interface SettlingPolicy<S = unknown> extends Policy {
  /**
   * Before the rest of the pipeline runs. Returns the state `settle` is handed back. Throwing fails
   * the call at this policy (the rest does not run). Returning a Promise means the policy cannot
   * decide synchronously (a probe claimed through a shared store, a queue, a race) and runs the
   * rest itself through `next`: the enclosing policies settle on that promise.
   */
  enter(ctx: CallContext, next: Next<unknown>): S | Promise<unknown>;
  /**
   * After the rest settled, as a `.then` pair would: return the value, throw the error, or return a
   * Promise of a later outcome (a retry's next attempt). `ctx` is the context the policy entered with.
   */
  settle(state: S, ctx: CallContext, next: Next<unknown>, failed: boolean, outcome: unknown): unknown;
  /** True when the state is the child context the rest runs in (a timeout's deadline scope). */
  readonly scopes?: boolean;
}

export function isSettling(policy: Policy): policy is SettlingPolicy {
  const candidate = policy as Partial<SettlingPolicy>;
  return typeof candidate.enter === 'function' && typeof candidate.settle === 'function';
}

/** One settling policy on its own: what its `run` is. */
export function runSettling<S, T>(policy: SettlingPolicy<S>, ctx: CallContext, next: Next<T>): Promise<T> {
  let state: S | Promise<unknown>;
  try {
    state = policy.enter(ctx, next);
  } catch (error) {
    return Promise.reject(error);
  }
  if (state instanceof Promise) return state as Promise<T>;
  return settleAfter(policy, state, ctx, next);
}

/**
 * Runs the rest for a policy that has entered with `state`, and settles the policy on it. Also the
 * way back for a policy whose `enter` had to wait first (a queued bulkhead, a claimed fleet probe).
 */
export function settleAfter<S, T>(policy: SettlingPolicy<S>, state: S, ctx: CallContext, next: Next<T>): Promise<T> {
  const inner = policy.scopes ? (state as unknown as CallContext) : ctx;
  return invoke(next, inner).then(
    (value) => policy.settle(state, ctx, next, false, value) as T,
    (error: unknown) => policy.settle(state, ctx, next, true, error) as T,
  );
}

/**
 * `policies[0]` around … `policies[n-1]` around `inner`, as one step per call. Each policy's `next`
 * (for the rest it runs itself: a retry's later attempts, a queued bulkhead) is the fused step of
 * the policies inside it, so every attempt is fused too. Built once per pipeline.
 */
export function fuse(policies: readonly SettlingPolicy[], inner: Next<unknown>): Next<unknown> {
  const steps: Array<Next<unknown>> = new Array<Next<unknown>>(policies.length + 1);
  steps[policies.length] = inner;
  for (let first = policies.length - 1; first >= 0; first--) {
    const policy = policies[first]!;
    const next = steps[first + 1]!;
    // The innermost alone needs no frame: its own `run`.
    steps[first] =
      first === policies.length - 1 ? (ctx) => runSettling(policy, ctx, next) : fusedFrom(policies, steps, first);
  }
  return steps[0]!;
}

/**
 * The fused step for `policies[first..]`. A call's frame holds, per policy, the context it entered
 * with and its state: one array instead of a closure and a promise per policy.
 */
function fusedFrom(
  policies: readonly SettlingPolicy[],
  steps: ReadonlyArray<Next<unknown>>,
  first: number,
): Next<unknown> {
  const last = policies.length - 1;
  const inner = steps[last + 1]!;

  /** Settles `policies[level..first]` innermost first; a Promise from one defers the rest onto it. */
  const settleFrom = (frame: unknown[], level: number, failed: boolean, outcome: unknown): unknown => {
    for (let i = level; i >= first; i--) {
      const at = 2 * (i - first);
      let result: unknown;
      try {
        result = policies[i]!.settle(frame[at + 1], frame[at] as CallContext, steps[i + 1]!, failed, outcome);
      } catch (error) {
        failed = true;
        outcome = error;
        continue;
      }
      if (result instanceof Promise) return settleLater(frame, i - 1, result);
      failed = false;
      outcome = result;
    }
    if (failed) throw outcome;
    return outcome;
  };
  const settleLater = (frame: unknown[], level: number, work: Promise<unknown>): Promise<unknown> =>
    level < first
      ? work
      : work.then(
          (value) => settleFrom(frame, level, false, value),
          (error: unknown) => settleFrom(frame, level, true, error),
        );

  return (ctx: CallContext): Promise<unknown> => {
    const frame = new Array<unknown>(2 * (last - first + 1));
    for (let i = first; i <= last; i++) {
      const policy = policies[i]!;
      let state: unknown;
      try {
        state = policy.enter(ctx, steps[i + 1]!);
      } catch (error) {
        // Settled a microtask later, as a rejection passed up a chain of `.then`s would be.
        return settleLater(frame, i - 1, Promise.reject(error));
      }
      if (state instanceof Promise) return settleLater(frame, i - 1, state);
      const at = 2 * (i - first);
      frame[at] = ctx;
      frame[at + 1] = state;
      if (policy.scopes) ctx = state as CallContext;
    }
    return invoke(inner, ctx).then(
      (value) => settleFrom(frame, last, false, value),
      (error: unknown) => settleFrom(frame, last, true, error),
    );
  };
}
