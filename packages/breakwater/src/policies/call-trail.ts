import type { Category } from '../errors/categories.js';

/** One branch of `alternatives` as the call went through it. */
export interface BranchRecord {
  key: string;
  /** Calls that reached the callee on this branch (0 when its breaker or limiter refused). */
  attempts: number;
  outcome: 'answered' | 'failed' | 'skipped';
  error?: { code: string; category: Category };
}

/**
 * The one record of what a call did: attempts in all, each branch tried, which answered and the
 * path of fallbacks. Policies write it; response headers, journal rows and telemetry read it, so
 * they can never disagree. Pass one in `CallOptions.trail` and read it after the call.
 */
export class CallTrail {
  /** Calls that reached the callee, every branch and attempt included. */
  attempts = 0;
  readonly branches: BranchRecord[] = [];

  /** The branch that answered, if one did. */
  get answeredBy(): string | undefined {
    return this.branches.find((b) => b.outcome === 'answered')?.key;
  }

  /** The branch that answered, else the last one tried. */
  get lastTried(): string | undefined {
    return this.branches.findLast((b) => b.outcome !== 'skipped')?.key;
  }

  /** Branches that failed before another was tried: empty unless something fell back. */
  get fellBackFrom(): string[] {
    const tried = this.branches.filter((b) => b.outcome !== 'skipped');
    return tried.slice(0, -1).map((b) => b.key);
  }
}
