// Symmetric per-tensor int8 quantisation, the scheme behind the `q8` files:
// w ≈ q · scale with q in [-127, 127] and zero point 0.

export interface Int8Tensor {
  values: Int8Array;
  scale: number;
}

export function quantizeInt8(weights: Float32Array): Int8Tensor {
  let maxAbs = 0;
  for (const w of weights) maxAbs = Math.max(maxAbs, Math.abs(w));
  // An all-zero tensor has no range to spread; any positive scale dequantises it exactly.
  const scale = maxAbs > 0 ? Math.fround(maxAbs / 127) : 1;
  const values = new Int8Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    values[i] = Math.max(-127, Math.min(127, Math.round(weights[i] / scale)));
  }
  return { values, scale };
}
