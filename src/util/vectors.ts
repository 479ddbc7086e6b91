// Small vector helpers shared by the encoders, the catalogue and search.

/** L2-normalises `dims` values of `data` starting at `offset`, in place. */
export function normalizeInPlace(data: Float32Array, offset: number, dims: number): void {
  let sum = 0;
  for (let i = offset; i < offset + dims; i++) sum += data[i] * data[i];
  const norm = Math.sqrt(sum);
  // A zero or non-finite vector has no direction: storing it would make every
  // cosine NaN, so the caller must treat it as a failed embedding.
  if (!(norm > 0) || !Number.isFinite(norm)) {
    throw new Error(`the model produced a ${Number.isFinite(norm) ? 'zero' : 'non-finite'} vector`);
  }
  for (let i = offset; i < offset + dims; i++) data[i] /= norm;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Float32 vectors are stored as little-endian BLOBs (the byte order of every platform Node supports). */
export function vectorToBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function blobToVector(blob: Buffer): Float32Array {
  // Copy: the blob's memory belongs to SQLite's row buffer and may not be 4-byte aligned.
  const out = new Float32Array(blob.byteLength / 4);
  new Uint8Array(out.buffer).set(blob);
  return out;
}
