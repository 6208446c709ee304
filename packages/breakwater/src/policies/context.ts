import type { Clock } from './clock.js';
import type { CallTrail } from './call-trail.js';
import { schedulerFor } from './deadline-scheduler.js';
import { Cancellation, toSignal, type CancelSource } from './cancellation.js';

export interface CallOptions {
  /** What the call is about, for per-key breakers and limiters (e.g. `openai:gpt-4o`). */
  key?: string;
  /** The caller's own cancellation: an AbortSignal, or a `Cancellation` (which makes none). */
  signal?: CancelSource;
  correlationId?: string;
  /**
   * Filled in as the call runs: attempts, and for `alternatives` each branch tried, which one
   * answered and the path of fallbacks. Read it after the call, whether it succeeded or failed.
   */
  trail?: CallTrail;
}

/**
 * What the callee sees of its call: read-only. Policies get the whole CallContext; the work they
 * wrap can read its key, attempt, deadline and signal but not change the call's state.
 */
export interface CallView {
  readonly key: string;
  readonly attempt: number;
  readonly correlationId: string | undefined;
  readonly deadline: number;
  readonly timeLeft: number;
  readonly signal: AbortSignal;
  /**
   * The same cancellation as `signal`, without making an AbortSignal when none exists yet: a
   * `Cancellation` (or a signal made already). Hand it to what accepts any abort EventTarget, such
   * as undici's `signal` option; `fetch` and Node's APIs need `signal`.
   */
  readonly abortSource: CancelSource;
  readonly degraded: Degradation | undefined;
  /** Calls that reached the callee so far, all branches and attempts included. */
  readonly invocations: number;
}

/** What a degraded result stood in for (set by a fallback). */
export interface Degradation {
  reason: string;
  code: string;
  category: string;
}

const NEVER: AbortSignal = new AbortController().signal;
const noop = (): void => {};
/** The default options and scope, shared: a call without options allocates no empty object for them. */
const NO_OPTIONS: CallOptions = Object.freeze({});
const PLAIN_SCOPE: { key?: string; onExpire?: () => void } = Object.freeze({});

/**
 * What a policy and the callee know about one call: key, attempt, deadlines, correlation id and a
 * signal. The signal is made only when the callee reads `ctx.signal`, and only if something could
 * abort it (a deadline, a caller signal, a hedge): the happy path allocates no controller, no
 * listener and no timer. Timeouts and hedges derive child scopes, whose resources are released when
 * the work they guard settles. A signal costs more than its ~2 µs: on Node 20 every AbortSignal
 * outlives the young-generation collections until the next full one, dead or not (measured: a loop
 * making signals that die at once promotes ~5 MB per scavenge; the same EventTargets, none), so each
 * is copied and promoted. A scope's own cancellation is therefore a `Cancellation` (a plain object);
 * the AbortSignal is made only when the callee reads `ctx.signal`, not for `ctx.abortSource`.
 */
export class CallContext implements CallView {
  readonly key: string;
  readonly correlationId: string | undefined;
  /** Absolute deadline on the clock (ms); Infinity when none. */
  readonly deadline: number;
  /** The call's trail, when the caller asked for one (see CallOptions.trail). */
  readonly trail: CallTrail | undefined;
  private expired = false;
  private innerExpired = false;
  /** Called when this scope's own deadline fires (the timeout policy's event hook). */
  private readonly onExpire: (() => void) | undefined;

  /** The call's root scope: holds what every scope of the call shares (attempt, degradation…). */
  private readonly root: CallContext;
  private attemptNumber = 1;
  private invocationCount = 0;
  /** Clock reading shared by the policies that enter in one synchronous pass (a read costs ~60 ns). */
  private stamp = -1;
  private degradation: Degradation | undefined = undefined;
  private calleeFn: unknown = undefined;
  private readonly parent: CallContext | undefined;
  private readonly callerSignal: CancelSource | undefined;
  /** This scope's own cancellation, when it can abort for a reason of its own (deadline, policy). */
  private own: Cancellation | undefined = undefined;
  private release: (() => void) | undefined = undefined;
  private work: Promise<unknown> | undefined = undefined;
  private finished = false;
  private cancellable = false;
  private cancelReason: unknown = undefined;

  constructor(
    readonly clock: Clock,
    options: CallOptions = NO_OPTIONS,
    parent?: CallContext,
    deadline = Infinity,
    scope: { key?: string; onExpire?: () => void } = PLAIN_SCOPE,
  ) {
    this.parent = parent;
    this.key = scope.key ?? (parent ? parent.key : (options.key ?? 'default'));
    this.correlationId = parent ? parent.correlationId : options.correlationId;
    this.callerSignal = parent ? parent.callerSignal : options.signal;
    this.trail = parent ? parent.trail : options.trail;
    this.root = parent ? parent.root : this;
    this.deadline = parent ? Math.min(deadline, parent.deadline) : deadline;
    this.onExpire = scope.onExpire;
  }

  /** Set when this scope's own deadline fired. */
  get timedOut(): boolean {
    return this.expired;
  }

  /**
   * Set on this scope and every enclosing one when a deadline inside fired: a rejection after that
   * is a timeout whatever its shape (the openai SDK turns any abort into APIUserAbortError).
   * Cleared for each new attempt (`beginAttempt`).
   */
  get innerTimeout(): boolean {
    return this.innerExpired;
  }

  /** Calls that reached the callee so far, all branches and attempts included. */
  get invocations(): number {
    return this.root.invocationCount;
  }

  /** @internal the pipeline's innermost step, each time it calls the callee. */
  countInvocation(): void {
    this.root.invocationCount++;
    if (this.root.trail) this.root.trail.attempts++;
  }

  /**
   * A new attempt starts (a retry, a branch of alternatives): its number, a fresh clock reading,
   * and no timeout left over from the previous attempt.
   */
  beginAttempt(attempt: number): void {
    this.root.attemptNumber = attempt;
    this.innerExpired = false;
    if (attempt > 1) this.freshPass();
  }

  /** 1 for the first call; a retry policy sets it for each attempt (`beginAttempt`). Shared by all scopes of the call. */
  get attempt(): number {
    return this.root.attemptNumber;
  }

  /** Set by a fallback when its result stands in for the real one. */
  get degraded(): Degradation | undefined {
    return this.root.degradation;
  }
  set degraded(value: Degradation | undefined) {
    this.root.degradation = value;
  }

  /** @internal the pipeline's callee, carried so the policy chain is built once, not per call. */
  get callee(): unknown {
    return this.root.calleeFn;
  }
  set callee(fn: unknown) {
    this.root.calleeFn = fn;
  }

  /**
   * The clock reading for this pass through the policies: read once, shared by every policy that
   * enters before the callee runs. A retry clears it before each attempt.
   */
  now(): number {
    const root = this.root;
    return root.stamp >= 0 ? root.stamp : (root.stamp = this.clock.now());
  }

  /** Forgets the shared reading (a new attempt starts later than the last one). */
  freshPass(): void {
    this.root.stamp = -1;
  }

  /** Milliseconds until the deadline (Infinity when none). */
  get timeLeft(): number {
    return this.deadline === Infinity ? Infinity : Math.max(0, this.deadline - this.clock.now());
  }

  /** The caller's own signal (never a deadline): what a retry's wait listens to. */
  get rootSignal(): CancelSource | undefined {
    return this.callerSignal;
  }

  /** True when the caller (not a timeout) cancelled the call. */
  get cancelledByCaller(): boolean {
    return this.callerSignal?.aborted === true;
  }

  /** Aborts at the deadline, when the caller aborts, or when a policy cancels this scope. Made on first read. */
  get signal(): AbortSignal {
    return toSignal(this.abortSource);
  }

  /** The scope's cancellation, made on first read: `signal` without the AbortSignal. */
  get abortSource(): CancelSource {
    if (this.own) return this.own;
    const ownDeadline = this.deadline !== Infinity && !(this.parent && this.deadline >= this.parent.deadline);
    if (ownDeadline) return this.createCancellation(this.abortSourceAbove(), true);
    const upstream = this.parent ? this.parent.abortSource : this.callerSignal;
    return this.cancellable ? this.createCancellation(upstream, false) : (upstream ?? NEVER);
  }

  /**
   * What else can abort a scope with a deadline of its own. Deadlines only tighten inwards, so every
   * enclosing deadline is later and cannot fire first: enclosing timeouts are skipped (no controller,
   * timer or listener is made for them — a route's total timeout around an attempt timeout costs one
   * signal, not two) and the scope links to the nearest one that can abort for another reason: a
   * signal made already, a scope a policy cancels (hedge, alternatives) or one cancelled already —
   * else the caller's signal.
   */
  private abortSourceAbove(): CancelSource | undefined {
    for (let scope = this.parent; scope; scope = scope.parent) {
      if (scope.own) return scope.own;
      if (scope.cancellable || scope.cancelReason !== undefined) return scope.abortSource;
    }
    return this.callerSignal;
  }

  /** A child scope with a tighter deadline; `onExpire` runs if that deadline fires. */
  withDeadline(at: number, onExpire?: () => void): CallContext {
    return new CallContext(this.clock, undefined, this, at, onExpire ? { onExpire } : PLAIN_SCOPE);
  }

  /** A child scope about another key (a branch of `alternatives`: its breaker, its limiter). */
  withKey(key: string): CallContext {
    return new CallContext(this.clock, undefined, this, Infinity, { key });
  }

  /** A child scope a policy can cancel on its own (a hedge aborting the losing attempt). */
  withCancel(): CallContext {
    const child = new CallContext(this.clock, undefined, this);
    child.cancellable = true;
    return child;
  }

  /** The deadline passed: mark the scope and its parents timed out and abort the signal, if any. */
  expire(): void {
    if (this.expired) return;
    this.expired = true;
    this.markInnerTimeout();
    this.onExpire?.();
    this.cancel(new DOMException('The operation timed out (breakwater timeout policy).', 'TimeoutError'));
  }

  /** Aborts this scope's signal (now, or as soon as the callee reads it). */
  cancel(reason?: unknown): void {
    this.cancelReason = reason ?? new DOMException('Cancelled by a breakwater policy.', 'AbortError');
    this.own?.abort(this.cancelReason);
  }

  /** The scope's work has settled (a settling policy's hook): its signal's timer and listener go. */
  finish(): void {
    this.finished = true;
    this.release?.();
  }

  /** Releases the signal's timer and listener once the scope's work settles. */
  track<T>(work: Promise<T>): Promise<T> {
    this.work = work;
    if (this.release) releaseWhenSettled(work, this.release);
    return work;
  }

  private markInnerTimeout(): void {
    this.innerExpired = true;
    this.parent?.markInnerTimeout();
  }

  private createCancellation(upstream: CancelSource | undefined, ownDeadline: boolean): Cancellation {
    const own = new Cancellation();
    this.own = own;
    if (this.cancelReason !== undefined) own.abort(this.cancelReason);
    const entry = ownDeadline ? schedulerFor(this.clock).schedule(this.deadline, this) : undefined;
    // A signal that can never abort (no caller signal, no enclosing deadline) needs no listener.
    const linked = upstream !== undefined && upstream !== NEVER ? upstream : undefined;
    let onUpstreamAbort: (() => void) | undefined;
    if (linked?.aborted) own.abort(linked.reason);
    else if (linked)
      linked.addEventListener('abort', (onUpstreamAbort = () => own.abort(linked.reason)), { once: true });
    this.release =
      entry === undefined && onUpstreamAbort === undefined
        ? noop
        : () => {
            if (entry) schedulerFor(this.clock).cancel(entry);
            if (onUpstreamAbort) linked!.removeEventListener('abort', onUpstreamAbort);
          };
    // Read after the work was tracked (the callee awaited before reading): release on settle too.
    if (this.work) releaseWhenSettled(this.work, this.release);
    else if (this.finished) this.release();
    return own;
  }

  /** @internal the deadline scheduler's callback: this scope's deadline has come. */
  onDeadline(): void {
    this.expire();
  }
}

function releaseWhenSettled(work: Promise<unknown>, release: () => void): void {
  work.then(release, release);
}
