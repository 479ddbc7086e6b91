// A tiny seeded PRNG: the generated models must be byte-identical on every
// run and every machine, so Math.random is out.

/** mulberry32: a 32-bit state generator returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` values drawn uniformly from [-bound, bound). */
export function uniformWeights(random: () => number, count: number, bound: number): Float32Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = (random() * 2 - 1) * bound;
  return values;
}
