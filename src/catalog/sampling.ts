// Where a library sample is drawn (VectorStore.sample), shared by the backends: runs
// of SAMPLE_RUN consecutive ids at evenly spaced points. A run costs one index seek,
// so 1,024 vectors take 128 seeks (SQLite, 200,000 vectors: 10 ms instead of 40–110
// for 1,024 single points), and 128 strata still spread the sample over the library.

/** Consecutive vectors read at each point. */
export const SAMPLE_RUN = 8;

/** `count` integers spread evenly over [low, high] (the middle of each of `count` equal strata). */
export function evenlySpaced(low: number, high: number, count: number): number[] {
  const step = (high - low + 1) / count;
  return Array.from({ length: count }, (_, i) => low + Math.floor((i + 0.5) * step));
}

/** The points at which to read runs for a sample of `size` from ids in [low, high]. */
export function samplePoints(low: number, high: number, size: number): number[] {
  return evenlySpaced(low, high, Math.ceil(size / SAMPLE_RUN));
}
