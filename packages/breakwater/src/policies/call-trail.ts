import type { Category } from '../errors/categories.js';

/** One branch of `alternatives` as the call went through it. */
export interface BranchRecord {
  key: string;
  /** Calls that reached the callee on this branch (0 when its breaker or limiter refused). */
  attempts: number;
  /** `abandoned`: a hedge's loser, cancelled once the other branch answered. */
  outcome: 'answered' | 'failed' | 'skipped' | 'abandoned';
  error?: { code: string; category: Category };
}

/** One attempt as it happened, for the timeline an operator opens after an incident. */
export interface AttemptRecord {
  /** The branch / dependency key (`provider:model`). */
  key: string;
  attempt: number;
  /** Wall-clock start (ms since the epoch). */
  startedAt: number;
  durationMs: number;
  /** `rejected`: refused before any call (an open breaker). */
  outcome: 'succeeded' | 'failed' | 'rejected';
  category?: string;
  code?: string;
  /** The breaker's state when this attempt went through it. */
  breaker?: string;
  /** The wait chosen before the next attempt, and why (`backoff` | `retry_after`). */
  retryDelayMs?: number;
  retryReason?: string;
}

/** Attempts kept per call: a runaway retry loop does not grow a journal row without bound. */
const MAX_ATTEMPTS_LOGGED = 50;

/**
 * The one record of what a call did: attempts in all, each branch tried, which answered and the
 * path of fallbacks. Policies write it; response headers, journal rows and telemetry read it, so
 * they can never disagree. Pass one in `CallOptions.trail` and read it after the call.
 */
export class CallTrail {
  /** Calls that reached the callee, every branch and attempt included. */
  attempts = 0;
  readonly branches: BranchRecord[] = [];
  /** Every attempt in order (the first 50; `droppedAttempts` counts the rest). */
  readonly log: AttemptRecord[] = [];
  droppedAttempts = 0;
  /** @internal the breaker state seen by the attempt about to start. */
  pendingBreakerState: string | undefined = undefined;

  /** @internal appends an attempt (bounded). */
  record(attempt: AttemptRecord): AttemptRecord {
    if (this.log.length < MAX_ATTEMPTS_LOGGED) this.log.push(attempt);
    else this.droppedAttempts++;
    return attempt;
  }

  /** @internal the retry policy's decision, on the attempt it follows. */
  noteRetry(delayMs: number, reason: string): void {
    const last = this.log.at(-1);
    if (last) Object.assign(last, { retryDelayMs: Math.round(delayMs), retryReason: reason });
  }

  /** The branch that answered, if one did. */
  get answeredBy(): string | undefined {
    return this.branches.find((b) => b.outcome === 'answered')?.key;
  }

  /** The branch that answered, else the last one tried. */
  get lastTried(): string | undefined {
    return this.answeredBy ?? this.branches.findLast((b) => b.outcome === 'failed')?.key;
  }

  /** Branches that failed before another was tried: empty unless something fell back. */
  get fellBackFrom(): string[] {
    const failed = this.branches.filter((b) => b.outcome === 'failed').map((b) => b.key);
    // With no answer, the last failure is the call's own error, not a fallback.
    return this.answeredBy ? failed : failed.slice(0, -1);
  }
}
