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
  /**
   * Hedging: when the first branch has not answered after this long (ms), the second starts beside it;
   * the first to succeed wins and the other is cancelled through its signal. Default: no hedging.
   */
  hedgeAfterMs?: number;
  /** Releases a value that lost the race but arrived anyway (e.g. closes an opened stream). */
  dispose?: (value: unknown) => void;
}

export interface AlternativesEvents extends Record<string, unknown> {
  /** The call leaves branch `key` for `to` because of `error`. */
  fallback: { key: string; to: string; reason: Category; error: BreakwaterError };
  /** The second branch started beside a first one slow to answer. */
  hedge: { key: string; to: string; afterMs: number };
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
    this.hedgeAfterMs = options.hedgeAfterMs;
    this.dispose = options.dispose ?? (() => {});
    if (this.hedgeAfterMs !== undefined && !(this.hedgeAfterMs > 0))
      throw new TypeError(`Expected \`hedgeAfterMs\` to be a positive number, got ${options.hedgeAfterMs}.`);
  }

  private readonly hedgeAfterMs: number | undefined;
  private readonly dispose: (value: unknown) => void;

  /** The branches' own policies: `instrument()` reaches their events through this. */
  get policies(): Policy[] {
    return this.branches.flatMap((branch) => (branch.policy ? [branch.policy] : []));
  }

  async run<T>(ctx: CallContext, next: Next<T>): Promise<T> {
    let last: { error: BreakwaterError; branch: Branch } | undefined;
    let start = 0;
    if (this.hedgeAfterMs !== undefined && this.branches.length > 1) {
      const hedged = await this.hedged(ctx, next);
      if ('value' in hedged) return hedged.value;
      last = hedged.last;
      start = hedged.tried;
    }
    for (let index = start; index < this.branches.length; index++) {
      const branch = this.branches[index]!;
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

  /**
   * The first branch, and the second beside it once the first is slow: the first success wins, the
   * other is cancelled (a value it still produces is disposed of). Returns the winner's value, or the
   * last failure and how many branches were tried, for the walk to go on from.
   */
  private async hedged<T>(
    ctx: CallContext,
    next: Next<T>,
  ): Promise<{ value: T } | { last: { error: BreakwaterError; branch: Branch } | undefined; tried: number }> {
    const [first, second] = [this.branches[0]!, this.branches[1]!];
    type Settled = { index: number; ok: true; value: T } | { index: number; ok: false; error: BreakwaterError };
    const scopes: CallContext[] = [];
    const records: BranchRecord[] = [];
    const launch = (branch: Branch, index: number): Promise<Settled> => {
      // Cancel the cancellable scope itself: the keyed child's signal is that scope's signal.
      const cancellable = ctx.withCancel();
      const scope = cancellable.withKey(branch.key);
      scopes[index] = cancellable;
      const record: BranchRecord = { key: branch.key, attempts: 0, outcome: 'failed' };
      records[index] = record;
      ctx.trail?.branches.push(record);
      const count = (): number => ctx.trail?.log.filter((a) => a.key === branch.key).length ?? 1;
      return cancellable.track(branch.policy ? branch.policy.run(scope, next) : next(scope)).then(
        (value) => {
          record.attempts = count();
          return { index, ok: true, value };
        },
        (thrown: unknown) => {
          const error = classifyFor(thrown, scope);
          Object.assign(record, { attempts: count(), error: { code: error.code, category: error.category } });
          return { index, ok: false, error };
        },
      );
    };
    const running = new Map<number, Promise<Settled>>([[0, launch(first, 0)]]);
    let timer: ReturnType<typeof ctx.clock.setTimer> | undefined;
    const slow = new Promise<'slow'>((resolve) => (timer = ctx.clock.setTimer(() => resolve('slow'), this.hedgeAfterMs!)));
    let last: { error: BreakwaterError; branch: Branch } | undefined;
    let hedgeStarted = false;
    try {
      for (;;) {
        const settled = await Promise.race([...running.values(), ...(hedgeStarted ? [] : [slow])]);
        if (settled === 'slow') {
          hedgeStarted = true;
          if (this.events.hasListeners('hedge'))
            this.events.emit('hedge', { key: first.key, to: second.key, afterMs: this.hedgeAfterMs! });
          ctx.freshPass();
          running.set(1, launch(second, 1));
          continue;
        }
        running.delete(settled.index);
        const branch = settled.index === 0 ? first : second;
        if (settled.ok) {
          records[settled.index]!.outcome = 'answered';
          for (const [index, other] of running) {
            records[index]!.outcome = 'abandoned';
            scopes[index]!.cancel();
            void other.then((late) => {
              if (late.ok) this.dispose(late.value);
            });
          }
          return { value: settled.value };
        }
        last = { error: settled.error, branch };
        if (!this.moveOn(settled.error) || ctx.cancelledByCaller || ctx.timeLeft <= 0) throw settled.error;
        if (running.size > 0) continue;
        if (!hedgeStarted) {
          // The first failed before the hedge: the second runs now if it accepts the failure.
          hedgeStarted = true;
          if (second.accepts && !second.accepts(settled.error, first)) return { last, tried: 2 };
          ctx.freshPass();
          running.set(1, launch(second, 1));
          continue;
        }
        return { last, tried: 2 };
      }
    } finally {
      if (timer !== undefined) ctx.clock.clearTimer(timer);
    }
  }
}

export function alternatives(branches: readonly Branch[], options?: AlternativesOptions): AlternativesPolicy {
  return new AlternativesPolicy(branches, options);
}
