import type { CallContext, CallView } from './context.js';

/** What the policies wrap: the user's call, given a read-only view of its call (signal, attempt, key…). */
export type Callee<T> = (ctx: CallView) => PromiseLike<T> | T;

/** The rest of the pipeline, as seen from one policy. */
export type Next<T> = (ctx: CallContext) => Promise<T>;

/**
 * Every policy is this one method: run the rest of the pipeline under its rule. Policies compose
 * with `pipeline(a, b, c)`: `a` is outermost, so `pipeline(retry, breaker, timeout)` retries calls
 * that each pass the breaker and each get their own timeout. A policy whose work before and after
 * the call is synchronous can also have `enter`/`settle` hooks (settling.ts): the pipeline then
 * runs it and its settling neighbours in one promise reaction.
 */
export interface Policy {
  run<T>(ctx: CallContext, next: Next<T>): Promise<T>;
  /** True when every rejection of `run` is already a classified BreakwaterError. */
  readonly classifies?: boolean;
}
