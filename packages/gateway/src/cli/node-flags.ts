import { availableParallelism } from 'node:os';

/**
 * A larger young generation. A request allocates ~60 KB that dies within milliseconds, but with
 * V8's default (16 MB semi-spaces on 64-bit) the objects of the requests in flight at each scavenge
 * (every ~200 ms at 1,000 req/s) are promoted to the old generation, whose incremental marking then
 * runs in steps of up to ~4 ms: the slowest requests' latency. With 64 MB, scavenges come half
 * as often and the old generation grows half as fast; measured at a paced 1,000 req/s, p99 6.3 ms
 * instead of 11.5 (medians of 13 and 14 runs), for the same CPU and ~70 MB more resident memory.
 */
const YOUNG_GENERATION = '--max-semi-space-size=64';

/**
 * GC on the main thread only, for a machine of one or two cores. V8's parallel scavenge and
 * concurrent marking hand work to helper threads; with two cores those threads compete with the
 * event loop and the machine's other processes, and a pause ends only when its helpers have been
 * scheduled. Measured at a paced 1,000 req/s on two cores, twelve runs each, interleaved: p99
 * median 4.4 ms (3.6–11.0) instead of 6.4 (2.5–14.3), the same CPU. Near the end of a core (2,000
 * req/s) it costs a little instead (p99 20.1 vs 17.7 ms, four runs each): the collector's work waits
 * for the busy main thread. With more cores the helpers shorten pauses, so the flag is only for
 * small machines. With it, a 32 MB young generation does better than 64 (p99 median 4.1 vs 4.7 ms,
 * twelve interleaved runs each; 40 MB less resident memory) and than the default 16 (3.8 vs 4.9 ms,
 * six each).
 */
const SMALL_MACHINE = ['--max-semi-space-size=32', '--single-threaded-gc'];

/** The V8 settings a gateway process runs with on a machine with `cores` cores. */
export function serverV8Flags(cores = availableParallelism()): string[] {
  return cores <= 2 ? [...SMALL_MACHINE] : [YOUNG_GENERATION];
}

/**
 * The settings the server flags make, each as the flags that show an operator chose it (then
 * theirs is kept, whichever way it goes).
 */
const SETTINGS: readonly RegExp[] = [
  /^--(max|min)[-_]semi[-_]space[-_]size/,
  /^--(no[-_])?(single[-_]threaded[-_]gc|single[-_]threaded|parallel[-_]scavenge|concurrent[-_]marking)\b/,
];

/**
 * The flags of `flags` whose setting the operator did not choose already, in the process's own
 * flags or in NODE_OPTIONS (an operator's choice is kept, whichever way it goes).
 */
export function missingServerFlags(
  execArgv: readonly string[],
  nodeOptions = '',
  flags: readonly string[] = serverV8Flags(),
): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)];
  const chosen = (flag: string) => {
    const setting = SETTINGS.find((made) => made.test(flag));
    return given.some((arg) => (setting ? setting.test(arg) : arg === flag));
  };
  return flags.filter((flag) => !chosen(flag));
}

/** The `execArgv` a worker starts with: the primary's own, plus the server flags it did not choose. */
export function workerExecArgv(
  execArgv: readonly string[],
  nodeOptions = '',
  flags: readonly string[] = serverV8Flags(),
): string[] {
  return [...execArgv, ...missingServerFlags(execArgv, nodeOptions, flags)];
}
