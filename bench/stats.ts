// Small measurement helpers shared by the benchmarks.
import { writeFileSync } from 'node:fs';

/** The q-quantile (0…1) of `values`, nearest-rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Peak resident memory of this process so far, in bytes (getrusage's ru_maxrss). */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Prints the result as one JSON line and, with --out, writes it to that file too. */
export function report(result: object, out: string | undefined): void {
  const json = JSON.stringify(result, null, 2);
  if (out) writeFileSync(out, `${json}\n`);
  process.stdout.write(`${json}\n`);
}

/** CPU time of this process (all threads) while `work` runs, with its wall time, in ms. */
export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = await work();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { value, wallMs, cpuMs: (used.user + used.system) / 1000 };
}
