/**
 * V8 settings the gateway's processes run with. A request allocates ~60 KB that dies within
 * milliseconds, but with V8's default young generation (16 MB semi-spaces on 64-bit) the objects of
 * the requests in flight at each scavenge (every ~200 ms at 1,000 req/s) are promoted to the old
 * generation, whose incremental marking then runs in steps of up to ~4 ms: the slowest requests'
 * latency. With 64 MB, scavenges come half as often and the old generation grows half as fast;
 * measured at a paced 1,000 req/s, p99 6.3 ms instead of 11.5 (medians of 13 and 14 runs), for the
 * same CPU and ~70 MB more resident memory per process (`npm run bench:gateway` runs every server with it).
 */
export const SERVER_V8_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/**
 * The `execArgv` a worker starts with: the primary's own, plus SERVER_V8_FLAGS unless the operator
 * chose a young-generation size already (in the primary's flags or in NODE_OPTIONS).
 */
export function workerExecArgv(execArgv: readonly string[], nodeOptions = ''): string[] {
  const chosen = [...execArgv, ...nodeOptions.split(/\s+/)].some((flag) =>
    /^--(max|min)[-_]semi[-_]space[-_]size/.test(flag),
  );
  return chosen ? [...execArgv] : [...execArgv, ...SERVER_V8_FLAGS];
}
