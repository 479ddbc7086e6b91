// Small vector helpers shared by the encoders, the catalogue and search.

/**
 * L2-normalises `dims` values of `data` starting at `offset`, in place. Returns
 * false, leaving the values as they are, when they have no direction (all zero,
 * or not finite): such a vector would make every cosine NaN, so the caller must
 * treat it as a failed embedding (see invalidVectorReason).
 */
export function normalizeInPlace(data: Float32Array, offset: number, dims: number): boolean {
  let sum = 0;
  for (let i = offset; i < offset + dims; i++) sum += data[i] * data[i];
  const norm = Math.sqrt(sum);
  if (!(norm > 0) || !Number.isFinite(norm)) return false;
  for (let i = offset; i < offset + dims; i++) data[i] /= norm;
  return true;
}

/** Why a model output cannot be stored as a vector (null when it is a finite unit vector). */
export function invalidVectorReason(v: Float32Array): string | null {
  let sum = 0;
  for (const x of v) {
    if (!Number.isFinite(x)) return 'the model produced a non-finite vector (NaN or infinity) for this image';
    sum += x * x;
  }
  if (!(sum > 0)) return 'the model produced a zero vector for this image';
  return Math.abs(Math.sqrt(sum) - 1) > 1e-3 ? `the model produced a vector of length ${Math.sqrt(sum)}, not a unit vector` : null;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Float32 vectors are stored as little-endian bytes (the byte order of every platform Node supports). */
export function vectorToBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function blobToVector(blob: Buffer | Uint8Array): Float32Array {
  // Copy: the blob's memory belongs to the driver's row buffer and may not be 4-byte aligned.
  const out = new Float32Array(blob.byteLength / 4);
  new Uint8Array(out.buffer).set(blob);
  return out;
}
