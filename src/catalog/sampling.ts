// Where a library sample is drawn (VectorStore.sample), shared by the backends.

/** `count` integers spread evenly over [low, high] (the middle of each of `count` equal strata). */
export function evenlySpaced(low: number, high: number, count: number): number[] {
  const step = (high - low + 1) / count;
  return Array.from({ length: count }, (_, i) => low + Math.floor((i + 0.5) * step));
}
