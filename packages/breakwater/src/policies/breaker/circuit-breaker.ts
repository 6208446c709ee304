import type { BreakwaterError } from '../../errors/breakwater-error.js';
import { Errors } from '../../errors/codes.js';
import { systemClock, type Clock } from '../clock.js';
import type { CallContext } from '../context.js';
import { Emitter } from '../events.js';
import { classifyFor } from '../classify-for.js';
import type { Next } from '../policy.js';
import { runSettling, settleAfter, type SettlingPolicy } from '../settling.js';
import { Circuit, type CircuitSettings, type CircuitState } from './circuit.js';
import { consecutiveFailures } from './consecutive-failures.js';
import type { BreakerStrategy } from './failure-counter.js';
import type { CircuitRecord, StateStore } from '../state/state-store.js';

export interface CircuitBreakerOptions {
  /** When to open. Default `consecutiveFailures(5)`; or `failureRate({...})`. */
  strategy?: BreakerStrategy;
  /** First break (ms). Default 5,000. */
  breakMs?: number;
  /** Longest break after repeated re-opens (ms). Default 60,000. */
  maxBreakMs?: number;
  /** Calls admitted at once while half-open. Default 1. */
  maxProbes?: number;
  /** Probe successes needed to close. Default 1. */
  successThreshold?: number;
  /** One circuit per key. Default: the call's `key`. */
  keyOf?: (ctx: CallContext) => string;
  /** Bound on remembered keys; the least recently used closed circuits go first. Default 10,000. */
  maxKeys?: number;
  /** Which failures count. Default: dependency faults (timeout, network, overloaded, 5xx, invalid response). */
  isFault?: (error: BreakwaterError) => boolean;
  clock?: Clock;
  /**
   * Shares transitions through a store (e.g. `redisState()`): a circuit opened, closed, isolated or
   * reset by one replica is followed by every replica watching the same `name`, and one replica at a
   * time probes a half-open circuit. With `consecutiveFailures` the replicas' faults also count
   * together (`fleetWindowMs`); other strategies count each replica's own calls.
   */
  store?: StateStore;
  /** The breaker's name in the store: replicas with the same name share circuits. Default 'breaker'. */
  name?: string;
  /**
   * With a store and `consecutiveFailures`: faults of all replicas count together, and a count is
   * forgotten after this long without a fault (ms). Default 10,000.
   */
  fleetWindowMs?: number;
}

export interface CircuitSnapshot {
  key: string;
  state: CircuitState;
  failures: number;
  calls: number;
  retryAfterMs: number | undefined;
  consecutiveOpens: number;
  lastFaultCategory: string | undefined;
}

export interface BreakerEvents extends Record<string, unknown> {
  stateChange: { key: string; from: CircuitState; to: CircuitState };
  rejected: { key: string; state: CircuitState; retryAfterMs: number };
}

/** An admitted call, as `settle` counts it: its circuit, when it was admitted, whether it probes. */
interface Admitted {
  readonly key: string;
  readonly circuit: Circuit;
  readonly now: number;
  readonly probe: boolean;
}

/** Circuit breakers per key, with bounded memory and no timers. */
export class CircuitBreakerPolicy implements SettlingPolicy<Admitted> {
  readonly classifies = true;
  readonly events = new Emitter<BreakerEvents>('breaker');
  private readonly circuits = new Map<string, Circuit>();
  private readonly strategy: BreakerStrategy;
  private readonly settings: CircuitSettings;
  private readonly keyOf: (ctx: CallContext) => string;
  private readonly maxKeys: number;
  private readonly isFault: (error: BreakwaterError) => boolean;
  private readonly clock: Clock;
  /** Use order for LRU eviction: a counter, because reading the clock costs more than the rest. */
  private sequence = 0;
  private readonly store: StateStore | undefined;
  private readonly space: string;
  /** This breaker's identity in shared records: its own transitions are not adopted twice. */
  private readonly id = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  private readonly unwatch: () => void;
  /** Faults across the fleet that open the circuit (a store and a strategy that supports it). */
  private readonly fleetThreshold: number | undefined;
  private readonly fleetWindowMs: number;

  constructor(options: CircuitBreakerOptions = {}) {
    this.strategy = options.strategy ?? consecutiveFailures(5);
    this.settings = {
      breakMs: positive('breakMs', options.breakMs ?? 5_000),
      maxBreakMs: positive('maxBreakMs', options.maxBreakMs ?? 60_000),
      maxProbes: positive('maxProbes', options.maxProbes ?? 1),
      successThreshold: positive('successThreshold', options.successThreshold ?? 1),
    };
    this.keyOf = options.keyOf ?? ((ctx) => ctx.key);
    this.maxKeys = positive('maxKeys', options.maxKeys ?? 10_000);
    this.isFault = options.isFault ?? ((error) => error.isDependencyFault);
    this.clock = options.clock ?? systemClock;
    this.store = options.store;
    this.space = options.name ?? 'breaker';
    this.fleetThreshold = this.store ? this.strategy.fleetThreshold : undefined;
    this.fleetWindowMs = positive('fleetWindowMs', options.fleetWindowMs ?? 10_000);
    this.unwatch = this.store?.watchCircuits(this.space, (key, record) => this.adopt(key, record)) ?? (() => {});
  }

  run<T>(ctx: CallContext, next: Next<T>): Promise<T> {
    return runSettling(this, ctx, next);
  }

  /**
   * Admits the call (its state: the circuit and whether it is a probe) or throws the rejection. No
   * async frame and no promise of its own on the happy path; the outcome is counted in `settle`.
   */
  enter(ctx: CallContext, next: Next<unknown>): Admitted | Promise<unknown> {
    const key = this.keyOf(ctx);
    const circuit = this.circuit(key);
    circuit.lastUsed = ++this.sequence;
    // A closed circuit counting consecutive failures needs no time at all on the happy path.
    const now = circuit.state === 'closed' && !circuit.counter.usesTime ? 0 : this.now(ctx);
    const before = circuit.state;
    const admission = circuit.admit(now);
    if (circuit.state !== before) this.changed(key, before, circuit.state);
    if (admission === 'reject') throw this.rejected(key, circuit, now, ctx);
    const probe = admission === 'probe';
    if (probe && this.store) return this.probeForFleet(ctx, next, key, circuit, now);
    return this.admitted(ctx, key, circuit, now, probe);
  }

  /** Counts the outcome on the circuit: a success, or a failure classified and passed on. */
  settle(admitted: Admitted, ctx: CallContext, _next: Next<unknown>, failed: boolean, outcome: unknown): unknown {
    const { key, circuit, now, probe } = admitted;
    if (failed) throw this.counted(classifyFor(outcome, ctx), key, circuit, probe);
    if (this.fleetThreshold !== undefined) this.forgetFleetFaults(key, circuit, probe);
    if (circuit.succeeded(now, probe)) this.changed(key, 'half_open', 'closed');
    return outcome;
  }

  /** A half-open circuit shared by a fleet: only the replica that claims the probe makes the call. */
  private async probeForFleet(
    ctx: CallContext,
    next: Next<unknown>,
    key: string,
    circuit: Circuit,
    now: number,
  ): Promise<unknown> {
    if (!(await this.claimProbe(key))) {
      circuit.released(true);
      throw this.rejected(key, circuit, now, ctx);
    }
    return settleAfter(this, this.admitted(ctx, key, circuit, now, true), ctx, next);
  }

  private admitted(ctx: CallContext, key: string, circuit: Circuit, now: number, probe: boolean): Admitted {
    if (ctx.trail) ctx.trail.pendingBreakerState = circuit.state;
    return { key, circuit, now, probe };
  }

  /** Counts a failed call on its circuit (a fault, a release, or proof the dependency is up). */
  private counted(error: BreakwaterError, key: string, circuit: Circuit, probe: boolean): BreakwaterError {
    const from = circuit.state;
    if (this.isFault(error)) {
      if (circuit.failed(this.clock.now(), probe, error.category)) this.changed(key, from, 'open');
      else if (this.fleetThreshold !== undefined && !probe) this.countFleetFault(key, circuit);
    } else if (error.category === 'cancelled' || error.category === 'circuit_open') {
      circuit.released(probe);
    } else {
      // The dependency answered (a 400, a 404): it is up, whatever the caller did wrong.
      if (this.fleetThreshold !== undefined) this.forgetFleetFaults(key, circuit, probe);
      if (circuit.succeeded(this.clock.now(), probe)) this.changed(key, 'half_open', 'closed');
    }
    return error;
  }

  /** A fault on a closed circuit also counts for the fleet; enough of them open it everywhere. */
  private countFleetFault(key: string, circuit: Circuit): void {
    if (circuit.state !== 'closed') return;
    const count = this.store!.countFailure(this.space, key, this.fleetWindowMs);
    const decide = (faults: number): void => {
      if (faults < this.fleetThreshold! || circuit.state !== 'closed') return;
      circuit.open(this.clock.now());
      this.changed(key, 'closed', 'open');
    };
    if (typeof count === 'number') decide(count);
    else void count.then(decide);
  }

  /** A success after this replica saw faults: the fleet's run of faults is broken. */
  private forgetFleetFaults(key: string, circuit: Circuit, probe: boolean): void {
    if (!probe && circuit.state === 'closed' && circuit.counter.snapshot(0).failures > 0)
      this.store!.clearFailures(this.space, key);
  }

  /** One replica probes a half-open circuit for the fleet; the others keep failing fast. */
  private claimProbe(key: string): boolean | Promise<boolean> {
    return this.store!.claimProbe(this.space, key, this.settings.breakMs);
  }

  private rejected(key: string, circuit: Circuit, now: number, ctx: CallContext): BreakwaterError {
    const rejection = this.rejection(key, circuit, now, ctx);
    ctx.trail?.record({
      key,
      attempt: ctx.attempt,
      startedAt: Date.now(),
      durationMs: 0,
      outcome: 'rejected',
      category: rejection.category,
      code: rejection.code,
      breaker: circuit.state,
    });
    return rejection;
  }

  /** A transition another replica published. */
  private adopt(key: string, record: CircuitRecord): void {
    if (record.by === this.id) return;
    const circuit = this.circuit(key);
    const from = circuit.state;
    circuit.adopt(record, this.clock.now());
    this.changed(key, from, circuit.state, false);
  }

  /** Stops following other replicas (a breaker replaced on reconfiguration). */
  close(): void {
    this.unwatch();
  }

  /** State of one key, for health checks. */
  snapshot(key: string): CircuitSnapshot {
    const now = this.clock.now();
    const circuit = this.circuits.get(key);
    if (!circuit)
      return {
        key,
        state: 'closed',
        failures: 0,
        calls: 0,
        retryAfterMs: undefined,
        consecutiveOpens: 0,
        lastFaultCategory: undefined,
      };
    const counts = circuit.counter.snapshot(now);
    const state = circuit.state === 'open' && now >= circuit.openUntil ? 'half_open' : circuit.state;
    return {
      key,
      state,
      ...counts,
      retryAfterMs: state === 'open' ? circuit.retryAfter(now) : undefined,
      consecutiveOpens: circuit.consecutiveOpens,
      lastFaultCategory: circuit.lastFaultCategory,
    };
  }

  snapshots(): CircuitSnapshot[] {
    return [...this.circuits.keys()].map((key) => this.snapshot(key));
  }

  /** Holds the circuit open until `reset` (maintenance, a known-bad provider). */
  isolate(key: string): void {
    const circuit = this.circuit(key);
    const from = circuit.state;
    circuit.state = 'isolated';
    this.changed(key, from, 'isolated');
  }

  /** Closes the circuit and forgets its failures. */
  reset(key: string): void {
    // With a store, the circuit may be open on other replicas even if this one never used it.
    const circuit = this.store ? this.circuit(key) : this.circuits.get(key);
    if (!circuit) return;
    const from = circuit.state;
    circuit.state = 'closed';
    circuit.consecutiveOpens = 0;
    circuit.probesInFlight = 0;
    circuit.counter.reset();
    this.changed(key, from, 'closed');
  }

  get size(): number {
    return this.circuits.size;
  }

  /** The pipeline's shared reading when this breaker uses the pipeline's clock, else its own. */
  private now(ctx: CallContext): number {
    return ctx.clock === this.clock ? ctx.now() : this.clock.now();
  }

  private circuit(key: string): Circuit {
    let circuit = this.circuits.get(key);
    if (!circuit) {
      if (this.circuits.size >= this.maxKeys) this.evict();
      circuit = new Circuit(this.strategy(), this.settings);
      this.circuits.set(key, circuit);
    }
    return circuit;
  }

  /** Forgets the least recently used tenth of closed circuits (open ones keep protecting). */
  private evict(): void {
    const closed = [...this.circuits]
      .filter(([, c]) => c.state === 'closed')
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    const victims = closed.slice(0, Math.max(1, Math.ceil(this.maxKeys / 10)));
    for (const [key] of victims) this.circuits.delete(key);
    if (victims.length === 0) {
      const oldest = [...this.circuits].sort((a, b) => a[1].lastUsed - b[1].lastUsed)[0];
      if (oldest) this.circuits.delete(oldest[0]);
    }
  }

  private rejection(key: string, circuit: Circuit, now: number, ctx: CallContext): BreakwaterError {
    const retryAfterMs = circuit.state === 'isolated' ? undefined : circuit.retryAfter(now);
    if (this.events.hasListeners('rejected'))
      this.events.emit('rejected', { key, state: circuit.state, retryAfterMs: retryAfterMs ?? Infinity });
    return Errors.circuitOpen({
      message: `Circuit for ${key} is ${circuit.state}; failing fast.`,
      retryAfterMs,
      dependency: key,
      correlationId: ctx.correlationId,
      details: { key, state: circuit.state },
    });
  }

  /** Reports a transition; one decided here (not adopted) is published for the other replicas. */
  private changed(key: string, from: CircuitState, to: CircuitState, publish = true): void {
    if (publish && this.store && to !== 'half_open' && (from !== to || to === 'closed')) {
      const circuit = this.circuits.get(key);
      if (circuit) this.store.publishCircuit(this.space, key, circuit.record(this.clock.now(), this.id));
    }
    if (from !== to && this.events.hasListeners('stateChange')) this.events.emit('stateChange', { key, from, to });
  }
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value))
    throw new TypeError(`Expected \`${name}\` to be a positive number, got ${value}.`);
  return value;
}

export function circuitBreaker(options?: CircuitBreakerOptions): CircuitBreakerPolicy {
  return new CircuitBreakerPolicy(options);
}
