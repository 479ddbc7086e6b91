// Stage 3 of embedding a batch: the prepared tensor through the image encoder,
// then each row checked. A model can return NaN, infinity or zeros for one odd
// input; that image is recorded as failed with the reason and the rest of the
// batch is kept, so a run never stops (and a rerun never stops again) at it.
import type { EmbeddedImage, FailedImage } from '../catalog/types.js';
import { invalidVectorReason, normalizeInPlace } from '../util/vectors.js';
import type { PreparedBatch } from './prepare.js';

/** What the pipeline needs of an image encoder (src/model/encoders.ts's ImageEncoder is one). */
export interface BatchEncoder {
  readonly dims: number;
  /** How many encode() calls can usefully run at once. */
  readonly parallelism: number;
  /**
   * Encodes `count` preprocessed images laid out back to back in `pixels`; one
   * row of `dims` values per image. With `transfer`, `pixels`' buffer may be
   * handed to another thread and must not be used afterwards.
   */
  encode(pixels: Float32Array, count: number, options?: { transfer?: boolean }): Promise<Float32Array>;
}

export interface EncodedBatch {
  embedded: EmbeddedImage[];
  failed: FailedImage[];
  /** How many of `embedded` reuse the vector of identical content instead of the model's. */
  reused: number;
  /** Images left pending: their file was not ready (see PrepareOptions.ready). */
  deferred: number[];
}

export async function encodeBatch(encoder: BatchEncoder, batch: PreparedBatch): Promise<EncodedBatch> {
  const out: EncodedBatch = {
    embedded: [...batch.reused],
    failed: [...batch.failed],
    reused: batch.reused.length,
    deferred: batch.deferred ?? [],
  };
  if (batch.images.length === 0) return out;
  // transfer: the batch's tensor moves to the inference thread, no copy.
  const vectors = await encoder.encode(batch.pixels, batch.images.length, { transfer: true });
  const { dims } = encoder;
  batch.images.forEach((image, i) => {
    const vector = vectors.slice(i * dims, (i + 1) * dims);
    normalizeInPlace(vector, 0, dims);
    const invalid = vector.length === dims ? invalidVectorReason(vector) : `the model gave ${vector.length} values, not ${dims}`;
    if (invalid) out.failed.push({ id: image.id, reason: invalid });
    else out.embedded.push({ ...image, vector });
  });
  return out;
}
