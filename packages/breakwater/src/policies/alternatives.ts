import type { BreakwaterError } from '../errors/breakwater-error.js';
import type { Category } from '../errors/categories.js';
import type { BranchRecord } from './call-trail.js';
import { classifyFor } from './classify-for.js';
import type { CallContext } from './context.js';
import { Emitter } from './events.js';
import type { Next, Policy } from './policy.js';

/** One way to do the work: its key (breaker, limiter, the callee's `ctx.key`) and its own policies. */
export interface Branch {
  key: string;
  /** This branch's own pipeline (its retry, breaker, attempt timeout). None: a single call. */
  policy?: Policy;
  /**
   * May this branch be tried after `error` on the branch before? Default yes. E.g. after
   * `context_length` only a branch with a larger context window.
   */
  accepts?: (error: BreakwaterError, previous: Branch) => boolean;
}

export interface AlternativesOptions {
  /**
   * Whether a failure moves on to the next branch. Default: everything except the caller's own
   * mistakes and cancellation (`NEVER_MOVE_ON`): asking another provider fixes none of those.
   */
  moveOn?: (error: BreakwaterError) => boolean;
}

export interface AlternativesEvents extends Record<string, unknown> {
  /** The call leaves branch `key` for `to` because of `error`. */
  fallback: { key: string; to: string; reason: Category; error: BreakwaterError };
}

/** Categories that stop a call on the branch where they happen (see AlternativesOptions.moveOn). */
export const NEVER_MOVE_ON: ReadonlySet<Category> = new Set([
  'validation',
  'content_filtered',
  'cancelled',
  'conflict',
]);

/**
 * Ordered alternatives: tries branch after branch, each under its own policies and its own key,
 * moving on by category and by each branch's `accepts`. What happened is written to the call's
 * trail (`CallOptions.trail`): attempts per branch, the branch that answered, the fallback path.
 * Stops when the call's deadline has passed or the caller aborted.
 */
export class AlternativesPolicy implements Policy {
  readonly classifies = true;
  readonly events = new Emitter<AlternativesEvents>('alternatives');
  private readonly moveOn: (error: BreakwaterError) => boolean;

  constructor(
    readonly branches: readonly Branch[],
    options: AlternativesOptions = {},
  ) {
    if (branches.length === 0) throw new TypeError('Expected at least one branch.');
    const keys = new Set(branches.map((b) => b.key));
    if (keys.size !== branches.length) throw new TypeError('Expected every branch to have its own key.');
    this.moveOn = options.moveOn ?? ((error) => !NEVER_MOVE_ON.has(error.category));
  }

  /** The branches' own policies: `instrument()` reaches their events through this. */
  get policies(): Policy[] {
    return this.branches.flatMap((branch) => (branch.policy ? [branch.policy] : []));
  }

  async run<T>(ctx: CallContext, next: Next<T>): Promise<T> {
    let last: { error: BreakwaterError; branch: Branch } | undefined;
    for (const branch of this.branches) {
      const record: BranchRecord = { key: branch.key, attempts: 0, outcome: 'skipped' };
      ctx.trail?.branches.push(record);
      if (last && branch.accepts && !branch.accepts(last.error, last.branch)) continue;
      if (last && this.events.hasListeners('fallback'))
        this.events.emit('fallback', {
          key: last.branch.key,
          to: branch.key,
          reason: last.error.category,
          error: last.error,
        });
      const scope = ctx.withKey(branch.key);
      const before = ctx.invocations;
      ctx.beginAttempt(1);
      // A later branch starts later: its deadlines count from now, not from the call's first clock reading.
      if (last) ctx.freshPass();
      try {
        const value = await (branch.policy ? branch.policy.run(scope, next) : next(scope));
        record.outcome = 'answered';
        record.attempts = ctx.invocations - before;
        return value;
      } catch (thrown) {
        const error = classifyFor(thrown, scope);
        Object.assign(record, { outcome: 'failed', attempts: ctx.invocations - before });
        record.error = { code: error.code, category: error.category };
        if (!this.moveOn(error) || ctx.cancelledByCaller || ctx.timeLeft <= 0) throw error;
        last = { error, branch };
      }
    }
    // Every remaining branch declined the last error: it is the call's error.
    throw last!.error;
  }
}

export function alternatives(branches: readonly Branch[], options?: AlternativesOptions): AlternativesPolicy {
  return new AlternativesPolicy(branches, options);
}
