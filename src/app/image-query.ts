// Images as queries: a file embedded on the fly with the library's model (never
// added to the library), or a catalogued image's stored vector.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Catalog } from '../catalog/ports.js';
import { readRegularFile } from '../media/safe-open.js';
import { invalidVectorReason } from '../util/vectors.js';
import type { ImageEncoder } from '../model/encoders.js';
import { QueryError } from '../search/query-vector.js';

export type ImageRef = { path: string } | { id: number };

/** A file if one exists at `value`, else a catalogue id if it is a whole number; otherwise an error naming the option. */
export function parseImageRef(value: string, option: string): ImageRef {
  const path = resolve(value);
  if (existsSync(path)) {
    if (!statSync(path).isFile()) throw new QueryError(`${option}: ${path} is not a file`);
    return { path };
  }
  if (/^[1-9][0-9]{0,14}$/.test(value.trim())) return { id: Number(value.trim()) };
  throw new QueryError(`${option}: "${value}" is neither an image file nor a catalogue id`);
}

/** The unit vector of an image file, as the library's model sees it. */
export async function embedImageFile(encoder: ImageEncoder, path: string): Promise<Float32Array> {
  let bytes: Buffer;
  try {
    bytes = (await readRegularFile(path)).bytes;
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const pixels = new Float32Array(encoder.pixelsPerImage);
  // The decoder (sharp, libvips) loads only for an image query: a text search does without it.
  const { preprocessInto } = await import('../media/preprocess.js');
  try {
    await preprocessInto(bytes, encoder.preprocess, pixels, 0);
  } catch (err) {
    throw new Error(`cannot use ${path} as a query: ${(err as Error).message}`, { cause: err });
  }
  const vector = (await encoder.encode(pixels, 1)).slice(0, encoder.dims);
  const invalid = invalidVectorReason(vector);
  if (invalid) throw new Error(`cannot use ${path} as a query: ${invalid}`);
  return vector;
}

/** The stored vector of catalogued image `id`, or an error saying why it has none. */
export async function storedImageVector(catalog: Pick<Catalog, 'vectors' | 'images'>, id: number): Promise<Float32Array> {
  const stored = (await catalog.vectors.vectorsOf([id])).get(id);
  if (stored) return stored.vector;
  const record = (await catalog.images.get([id])).get(id);
  if (!record || record.status === 'removed' || record.status === 'skipped') throw new QueryError(`no image with id ${id} in the library`);
  throw new QueryError(
    record.status === 'failed'
      ? `image ${id} could not be embedded (${record.error ?? 'unknown reason'}), so it cannot be a query`
      : `image ${id} is not embedded yet; run picsift embed first`,
  );
}
