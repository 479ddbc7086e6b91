// The library sample the relevance cut-off calibrates each query against: up to
// SAMPLE_SIZE vectors of the space being searched, spread over the library (all
// of them in a small library). Kept per space: a sample of a large library serves
// for a minute (new photos hardly move its statistics), while a small library's
// sample, which is the whole library, is drawn again as soon as a vector is added
// (one cheap look per query), so a library that is being filled is never judged
// by the few photos it had a minute ago. A query then pays only SAMPLE_SIZE dot
// products (about 0.5 ms at 512 dimensions).
import type { VectorStore } from '../catalog/ports.js';

/** Vectors in the calibration sample: enough for the median, the spread and a group of matches of 1% of the library. */
export const SAMPLE_SIZE = 1024;

/** How long a drawn sample serves before it is drawn again (the library may have grown meanwhile). */
const MAX_AGE_MS = 60_000;

interface Drawn {
  space: number;
  at: number;
  /** Every vector of the space (fewer than asked for): stale once any vector is added. */
  whole: boolean;
  /** Positions from here on were committed after the draw. */
  after: number;
  dims: number;
  /** The sample's vectors back to back. */
  vectors: Float32Array;
  count: number;
}

export class LibrarySample {
  private drawn: Drawn | null = null;
  private drawing: Promise<Drawn> | null = null;

  constructor(
    private readonly size = SAMPLE_SIZE,
    private readonly maxAgeMs = MAX_AGE_MS,
  ) {}

  /** The query's score against every vector of the sample of `space`. */
  async scores(store: VectorStore, space: number, query: Float32Array): Promise<Float64Array> {
    const sample = await this.of(store, space);
    const dims = query.length;
    const out = new Float64Array(sample.dims === dims ? sample.count : 0);
    for (let i = 0; i < out.length; i++) {
      let s = 0;
      const base = i * dims;
      for (let j = 0; j < dims; j++) s += query[j] * sample.vectors[base + j];
      out[i] = s;
    }
    return out;
  }

  /** Draws the sample of `space` now (if it is not current), so that a query later only scores it. */
  async prepare(store: VectorStore, space: number): Promise<void> {
    await this.of(store, space);
  }

  private async of(store: VectorStore, space: number): Promise<Drawn> {
    const current = this.drawn;
    if (current && current.space === space && Date.now() - current.at < this.maxAgeMs) {
      if (!current.whole || (await store.tailCount(current.after, 1)) === 0) return current;
    }
    // Concurrent queries share one draw.
    this.drawing ??= this.draw(store, space).finally(() => (this.drawing = null));
    const drawn = await this.drawing;
    return drawn.space === space ? drawn : this.draw(store, space);
  }

  private async draw(store: VectorStore, space: number): Promise<Drawn> {
    const all = await store.sample(this.size);
    const dims = all[0]?.vector.length ?? 0;
    const vectors = all.filter((v) => v.vector.length === dims); // a damaged vector (verify finds it) is no calibration
    const flat = new Float32Array(vectors.length * dims);
    vectors.forEach((v, i) => flat.set(v.vector, i * dims));
    const after = all.reduce((max, v) => Math.max(max, v.position + 1), 0);
    this.drawn = { space, at: Date.now(), whole: all.length < this.size, after, dims, vectors: flat, count: vectors.length };
    return this.drawn;
  }
}
