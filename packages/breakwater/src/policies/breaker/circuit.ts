import type { CircuitRecord } from '../state/state-store.js';
import type { FailureCounter } from './failure-counter.js';

export type CircuitState = 'closed' | 'open' | 'half_open' | 'isolated';

export interface CircuitSettings {
  breakMs: number;
  maxBreakMs: number;
  maxProbes: number;
  successThreshold: number;
}

/**
 * The state machine of one key. No timers: `open → half_open` happens lazily when a call arrives
 * after the break. Breaks double on every re-open from half-open, up to `maxBreakMs`.
 */
export class Circuit {
  state: CircuitState = 'closed';
  openUntil = 0;
  /** Opens in a row without a full recovery; lengthens the break. */
  consecutiveOpens = 0;
  probesInFlight = 0;
  probeSuccesses = 0;
  lastUsed = 0;
  lastFaultCategory: string | undefined = undefined;

  constructor(
    readonly counter: FailureCounter,
    private readonly settings: CircuitSettings,
  ) {}

  /** May a call pass now? Half-open admits up to `maxProbes` at once. Returns whether it is a probe. */
  admit(now: number): 'call' | 'probe' | 'reject' {
    if (this.state === 'closed') return 'call';
    if (this.state === 'isolated') return 'reject';
    if (this.state === 'open') {
      if (now < this.openUntil) return 'reject';
      this.state = 'half_open';
      this.probesInFlight = 0;
      this.probeSuccesses = 0;
    }
    if (this.probesInFlight >= this.settings.maxProbes) return 'reject';
    this.probesInFlight++;
    return 'probe';
  }

  /** A success (or a failure that is not the dependency's fault). Returns true if the circuit closed. */
  succeeded(now: number, probe: boolean): boolean {
    if (!probe) {
      if (this.state === 'closed') this.counter.success(now);
      return false;
    }
    this.probesInFlight--;
    if (this.state !== 'half_open') return false;
    if (++this.probeSuccesses < this.settings.successThreshold) return false;
    this.state = 'closed';
    this.consecutiveOpens = 0;
    this.counter.reset();
    return true;
  }

  /** A dependency fault. Returns true if the circuit opened. */
  failed(now: number, probe: boolean, category: string): boolean {
    this.lastFaultCategory = category;
    if (probe) {
      this.probesInFlight--;
      if (this.state !== 'half_open') return false;
      this.open(now);
      return true;
    }
    if (this.state !== 'closed' || !this.counter.failure(now)) return false;
    this.open(now);
    return true;
  }

  /** A probe that ended without an answer either way (cancelled): frees its slot. */
  released(probe: boolean): void {
    if (probe) this.probesInFlight--;
  }

  open(now: number): void {
    this.consecutiveOpens++;
    const growth = 2 ** Math.min(this.consecutiveOpens - 1, 30);
    this.openUntil = now + Math.min(this.settings.maxBreakMs, this.settings.breakMs * growth);
    this.state = 'open';
  }

  /** Takes a transition decided by another process (its break measured as time left). */
  adopt(record: CircuitRecord, now: number): void {
    this.consecutiveOpens = record.consecutiveOpens;
    if (record.state === 'open') {
      this.state = 'open';
      this.openUntil = now + record.remainingMs;
      return;
    }
    this.state = record.state;
    if (record.state === 'closed') this.counter.reset();
  }

  /** What other processes need to follow this circuit. */
  record(now: number, by: string): CircuitRecord {
    const state = this.state === 'half_open' ? 'open' : this.state;
    return {
      state,
      remainingMs: state === 'open' ? Math.max(0, this.openUntil - now) : 0,
      consecutiveOpens: this.consecutiveOpens,
      by,
    };
  }

  retryAfter(now: number): number {
    if (this.state === 'open') return Math.max(0, Math.ceil(this.openUntil - now));
    return this.state === 'half_open' ? this.settings.breakMs : Infinity;
  }
}
