/** Tiny benchmark helpers: warm up, run for a fixed count, report ns per call (median of rounds). */
export async function measure(
  name: string,
  run: () => Promise<unknown>,
  iterations = 200_000,
  rounds = 5,
): Promise<number> {
  for (let i = 0; i < 20_000; i++) await run();
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await run();
    samples.push(Number(process.hrtime.bigint() - started) / iterations);
  }
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)]!;
  return median;
}

export function table(rows: Array<Record<string, string | number>>): void {
  console.table(rows);
}

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
