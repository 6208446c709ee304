/** Tiny benchmark helpers: warm up, run for a fixed count, report ns per call (median of rounds). */
import { spawnSync } from 'node:child_process';

export async function measure(
  name: string,
  run: () => Promise<unknown>,
  iterations = 200_000,
  rounds = 5,
): Promise<number> {
  return (await measureInterleaved({ [name]: run }, iterations, rounds))[name]!;
}

/**
 * Every contender measured in the same rounds, one after the other within each round, so a slow
 * moment of the machine (GC, another process) falls on all of them alike. Median of the rounds.
 */
export async function measureInterleaved(
  contenders: Record<string, () => Promise<unknown>>,
  iterations = 100_000,
  rounds = 7,
): Promise<Record<string, number>> {
  const names = Object.keys(contenders);
  for (const name of names) for (let i = 0; i < 20_000; i++) await contenders[name]!();
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round: no contender always runs first (or last).
    for (const name of [...names.slice(r % names.length), ...names.slice(0, r % names.length)]) {
      const run = contenders[name]!;
      const started = process.hrtime.bigint();
      for (let i = 0; i < iterations; i++) await run();
      samples[name]!.push(Number(process.hrtime.bigint() - started) / iterations);
    }
  }
  return Object.fromEntries(names.map((name) => [name, median(samples[name]!)]));
}

const CONTENDER_ENV = 'BENCH_CONTENDER';

/**
 * Each contender measured in a process of its own, the processes taking turns (A B C, B C A, …),
 * median of the rounds. For work whose garbage outlives the round that made it: on Node 20 every
 * AbortSignal survives until the next full collection, so in one shared heap a contender pays for
 * the signals the one before it made, and the figures say more about the order than the work.
 *
 * The bench re-runs itself once per process, with BENCH_CONTENDER naming the contender: call this
 * before any other measurement, so the child measures its contender, prints it and exits there.
 */
export async function measureInOwnProcesses(
  contenders: Record<string, () => Promise<unknown>>,
  iterations = 50_000,
  rounds = 5,
): Promise<Record<string, number>> {
  const only = process.env[CONTENDER_ENV];
  if (only !== undefined) {
    const run = contenders[only];
    if (!run) throw new Error(`No contender named ${only}.`);
    const ns = (await measureInterleaved({ [only]: run }, iterations, 3))[only]!;
    console.log(JSON.stringify({ [only]: ns }));
    process.exit(0);
  }
  const names = Object.keys(contenders);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of [...names.slice(r % names.length), ...names.slice(0, r % names.length)]) {
      samples[name]!.push(measureInChild(name));
    }
  }
  return Object.fromEntries(names.map((name) => [name, median(samples[name]!)]));
}

function measureInChild(name: string): number {
  const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], {
    env: { ...process.env, [CONTENDER_ENV]: name },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const line = child.stdout.trim().split('\n').at(-1) ?? '';
  if (child.status !== 0 || !line.startsWith('{'))
    throw new Error(`The process measuring ${name} failed (status ${child.status}): ${child.stderr || line}`);
  return (JSON.parse(line) as Record<string, number>)[name]!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export function table(rows: Array<Record<string, string | number>>): void {
  console.table(rows);
}

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
