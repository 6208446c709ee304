/** Tiny benchmark helpers: warm up, run for a fixed count, report ns per call (median of rounds). */
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
  return Object.fromEntries(
    names.map((name) => {
      const sorted = samples[name]!.sort((a, b) => a - b);
      return [name, sorted[Math.floor(sorted.length / 2)]!];
    }),
  );
}

export function table(rows: Array<Record<string, string | number>>): void {
  console.table(rows);
}

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
