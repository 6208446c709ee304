import type { BreakwaterError } from '../errors/breakwater-error.js';
import { Errors } from '../errors/codes.js';
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
  /**
   * Asked at the start of each call: a branch switched off (an operator drained it) is left out of
   * the call, hedging included; calls already on it finish. Default: always on.
   */
  enabled?: () => boolean;
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
  fallback: { key: string; correlationId?: string; to: string; reason: Category; error: BreakwaterError };
  /** The second branch started beside a first one slow to answer. */
  hedge: { key: string; correlationId?: string; to: string; afterMs: number };
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
    this.switchable = branches.some((branch) => branch.enabled !== undefined);
    if (this.hedgeAfterMs !== undefined && !(this.hedgeAfterMs > 0))
      throw new TypeError(`Expected \`hedgeAfterMs\` to be a positive number, got ${options.hedgeAfterMs}.`);
  }

  private readonly hedgeAfterMs: number | undefined;
  private readonly dispose: (value: unknown) => void;
  /** Some branch can be switched off: only then is the list filtered per call. */
  private readonly switchable: boolean;

  /** The branches' own policies: `instrument()` reaches their events through this. */
  get policies(): Policy[] {
    return this.branches.flatMap((branch) => (branch.policy ? [branch.policy] : []));
  }

  async run<T>(ctx: CallContext, next: Next<T>): Promise<T> {
    // Filtered (a new array) only while some branch is switched off: the usual call allocates nothing.
    const branches =
      this.switchable && this.branches.some((b) => b.enabled?.() === false)
        ? this.branches.filter((b) => b.enabled?.() !== false)
        : this.branches;
    if (branches.length === 0)
      throw Errors.allAlternativesDisabled({
        message: `Every alternative of ${ctx.key} is switched off.`,
        ...(ctx.correlationId !== undefined ? { correlationId: ctx.correlationId } : {}),
      });
    let last: Failure | undefined;
    let start = 0;
    if (this.hedgeAfterMs !== undefined && branches.length > 1) {
      const raced = await this.race(ctx, next, this.hedgeAfterMs, branches);
      if ('value' in raced) return raced.value;
      ({ last, tried: start } = raced);
    }
    for (let index = start; index < branches.length; index++) {
      const branch = branches[index]!;
      const record: BranchRecord = { key: branch.key, attempts: 0, outcome: 'skipped' };
      ctx.trail?.branches.push(record);
      if (last && branch.accepts && !branch.accepts(last.error, last.branch)) continue;
      if (last && this.events.hasListeners('fallback'))
        this.events.emit('fallback', {
          key: last.branch.key,
          correlationId: ctx.correlationId,
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
        if (!this.canMoveOn(ctx, error)) throw error;
        last = { error, branch };
      }
    }
    // Every remaining branch declined the last error: it is the call's error.
    throw last!.error;
  }

  /** Whether the walk may go on after `error`: a category it moves on from, time left, no caller abort. */
  private canMoveOn(ctx: CallContext, error: BreakwaterError): boolean {
    return this.moveOn(error) && !ctx.cancelledByCaller && ctx.timeLeft > 0;
  }

  /**
   * Hedging: the first branch alone until `afterMs`, then the second beside it; the first success
   * wins and the other is abandoned. A first branch that settles before `afterMs` is an ordinary
   * first step of the walk. Returns the winner's value, or the last failure and how many branches
   * were tried, for the walk to go on from.
   */
  private async race<T>(
    ctx: CallContext,
    next: Next<T>,
    afterMs: number,
    branches: readonly Branch[],
  ): Promise<{ value: T } | Resume> {
    const first = this.launch(ctx, next, branches[0]!);
    let timer: unknown;
    const slow = new Promise<undefined>((resolve) => (timer = ctx.clock.setTimer(() => resolve(undefined), afterMs)));
    const early = await Promise.race([first.outcome, slow]);
    ctx.clock.clearTimer(timer);
    if (early) return this.settleAlone(ctx, first, early);

    const second = branches[1]!;
    if (this.events.hasListeners('hedge'))
      this.events.emit('hedge', { key: first.branch.key, correlationId: ctx.correlationId, to: second.key, afterMs });
    ctx.freshPass();
    let pending = [first, this.launch(ctx, next, second)];
    let last: Failure | undefined;
    while (pending.length > 0) {
      const settled = await Promise.race(pending.map((racer) => racer.outcome));
      pending = pending.filter((racer) => racer !== settled.racer);
      if (settled.ok) {
        settled.racer.record.outcome = 'answered';
        this.abandon(pending);
        return { value: settled.value };
      }
      last = { error: settled.error, branch: settled.racer.branch };
      if (!this.canMoveOn(ctx, settled.error)) {
        this.abandon(pending);
        throw settled.error;
      }
    }
    return { last: last!, tried: 2 };
  }

  /** The first branch settled before the hedge was due: as in the walk without hedging. */
  private settleAlone<T>(ctx: CallContext, racer: Racer<T>, settled: Settled<T>): { value: T } | Resume {
    if (settled.ok) {
      racer.record.outcome = 'answered';
      return { value: settled.value };
    }
    if (!this.canMoveOn(ctx, settled.error)) throw settled.error;
    return { last: { error: settled.error, branch: racer.branch }, tried: 1 };
  }

  /** Starts a branch in a scope of its own that can be cancelled without cancelling the call. */
  private launch<T>(ctx: CallContext, next: Next<T>, branch: Branch): Racer<T> {
    // Cancel the cancellable scope itself: the keyed child's signal is that scope's signal.
    const cancellable = ctx.withCancel();
    const scope = cancellable.withKey(branch.key);
    const record: BranchRecord = { key: branch.key, attempts: 0, outcome: 'failed' };
    ctx.trail?.branches.push(record);
    // Branches run at once, so the call's shared invocation counter cannot tell theirs apart: the
    // trail's log, keyed by branch, can (the count only matters when there is a trail).
    const count = (): number => ctx.trail?.log.filter((attempt) => attempt.key === branch.key).length ?? 0;
    const racer = { branch, scope: cancellable, record } as Racer<T>;
    racer.outcome = cancellable.track(branch.policy ? branch.policy.run(scope, next) : next(scope)).then(
      (value): Settled<T> => {
        record.attempts = count();
        return { racer, ok: true, value };
      },
      (thrown: unknown): Settled<T> => {
        const error = classifyFor(thrown, scope);
        Object.assign(record, { attempts: count(), error: { code: error.code, category: error.category } });
        return { racer, ok: false, error };
      },
    );
    return racer;
  }

  /** Cancels branches that lost the race; a value one still produces is disposed of. */
  private abandon<T>(racers: readonly Racer<T>[]): void {
    for (const racer of racers) {
      racer.record.outcome = 'abandoned';
      racer.scope.cancel();
      void racer.outcome.then((late) => {
        if (late.ok) this.dispose(late.value);
      });
    }
  }
}

interface Failure {
  error: BreakwaterError;
  branch: Branch;
}

/** Where the walk goes on after a hedged start: the last failure, and branches already tried. */
interface Resume {
  last: Failure;
  tried: number;
}

/** A branch running beside another while hedging. */
interface Racer<T> {
  branch: Branch;
  scope: CallContext;
  record: BranchRecord;
  outcome: Promise<Settled<T>>;
}

type Settled<T> = { racer: Racer<T>; ok: true; value: T } | { racer: Racer<T>; ok: false; error: BreakwaterError };

export function alternatives(branches: readonly Branch[], options?: AlternativesOptions): AlternativesPolicy {
  return new AlternativesPolicy(branches, options);
}
