import { classify } from '../classify/classify.js';
import type { CircuitBreakerPolicy } from '../policies/breaker/circuit-breaker.js';

export type HealthStatus = 'pass' | 'warn' | 'fail';

export interface DependencyCheck {
  name: string;
  /** A critical dependency that fails makes readiness 503; a non-critical one only `warn`. Default true. */
  critical?: boolean;
  /** Resolves when the dependency answers (e.g. `redis.ping()`, `SELECT 1`). */
  check: (signal: AbortSignal) => Promise<unknown>;
  /** Reports this breaker's state for the dependency (an open breaker is `fail`, half-open `warn`). */
  breaker?: { policy: CircuitBreakerPolicy; key: string };
}

export interface HealthOptions {
  /** The dependencies, or a function returning them (for a set that changes, e.g. on config reload). */
  dependencies?: DependencyCheck[] | (() => DependencyCheck[]);
  /** Per-check time limit (ms). Default 2,000. */
  timeoutMs?: number;
  /** Extra conditions (e.g. the journal's own health). */
  extra?: Array<() => { name: string; status: HealthStatus; output?: string }>;
  /** Service metadata for the response. */
  serviceId?: string;
  version?: string;
}

/** The `application/health+json` draft shape. */
export interface HealthReport {
  status: HealthStatus;
  serviceId?: string;
  version?: string;
  checks: Record<
    string,
    Array<{
      status: HealthStatus;
      componentType?: string;
      observedValue?: number;
      observedUnit?: string;
      time: string;
      output?: string;
      breaker?: string;
      lastErrorCategory?: string;
    }>
  >;
}

export const HEALTH_CONTENT_TYPE = 'application/health+json';

/** Liveness says the process runs; readiness asks every dependency, in parallel, with a time limit. */
export function createHealth(options: HealthOptions = {}) {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const meta = {
    ...(options.serviceId ? { serviceId: options.serviceId } : {}),
    ...(options.version ? { version: options.version } : {}),
  };

  const probe = async (
    dependency: DependencyCheck,
  ): Promise<[string, HealthReport['checks'][string][number], boolean]> => {
    const started = performance.now();
    const time = new Date().toISOString();
    const breaker = dependency.breaker?.policy.snapshot(dependency.breaker.key);
    let status: HealthStatus = 'pass';
    let output: string | undefined;
    let lastErrorCategory = breaker?.lastFaultCategory;
    try {
      await dependency.check(AbortSignal.timeout(timeoutMs));
    } catch (thrown) {
      const error = classify(thrown, { dependency: dependency.name });
      status = 'fail';
      output = `${error.code}: ${error.userMessage}`;
      lastErrorCategory = error.category;
    }
    if (status === 'pass' && breaker && breaker.state !== 'closed')
      status = breaker.state === 'half_open' ? 'warn' : 'fail';
    const entry = {
      status,
      componentType: 'component',
      observedValue: Math.round((performance.now() - started) * 100) / 100,
      observedUnit: 'ms',
      time,
      ...(output ? { output } : {}),
      ...(breaker ? { breaker: breaker.state } : {}),
      ...(lastErrorCategory ? { lastErrorCategory } : {}),
    };
    return [`${dependency.name}:responsiveness`, entry, dependency.critical !== false];
  };

  return {
    liveness(): HealthReport {
      return {
        status: 'pass',
        ...meta,
        checks: {
          'process:uptime': [
            {
              status: 'pass',
              observedValue: Math.round(process.uptime()),
              observedUnit: 's',
              time: new Date().toISOString(),
            },
          ],
        },
      };
    },
    async readiness(): Promise<HealthReport> {
      const dependencies =
        typeof options.dependencies === 'function' ? options.dependencies() : (options.dependencies ?? []);
      const results = await Promise.all(dependencies.map(probe));
      const checks: HealthReport['checks'] = {};
      let status: HealthStatus = 'pass';
      for (const [name, entry, critical] of results) {
        checks[name] = [entry];
        if (entry.status === 'fail' && critical) status = 'fail';
        else if (entry.status !== 'pass' && status === 'pass') status = 'warn';
      }
      for (const extra of options.extra ?? []) {
        const { name, status: s, output } = extra();
        checks[name] = [{ status: s, time: new Date().toISOString(), ...(output ? { output } : {}) }];
        if (s === 'fail') status = 'fail';
        else if (s === 'warn' && status === 'pass') status = 'warn';
      }
      return { status, ...meta, checks };
    },
    /** HTTP status for a report: 503 only when a critical dependency fails. */
    httpStatus(report: HealthReport): number {
      return report.status === 'fail' ? 503 : 200;
    },
  };
}

export type Health = ReturnType<typeof createHealth>;
