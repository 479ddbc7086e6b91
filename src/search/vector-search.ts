// Nearest vectors by cosine over the catalogue, fast through the ANN index where
// it is current and exact for whatever the index lacks, so a missing or stale
// index never gives wrong or incomplete answers.
import type { VectorStore } from '../catalog/ports.js';
import type { AnnIndex } from '../index/ann-index.js';
import { dot } from '../util/vectors.js';
import { TopK, type Scored } from './top-k.js';

/** How many extra candidates to ask the index for, to make up for entries that went stale. */
const OVERFETCH = 2;

/**
 * A search over at most this many images (a filtered set, or a whole small
 * library) scores them all exactly. That costs less than walking the graph for
 * candidates that mostly fail a filter, and in a small library it is also
 * complete: HNSW can leave some of many near-identical vectors unreachable (a
 * library of solid-colour test images, 116 vectors, once lost one of its five
 * greens that way). PICSIFT_EXACT_LIMIT tunes it (tests set it to 0 to exercise
 * the index path).
 */
export const EXACT_LIMIT = 2048;

/** Candidate counts asked of the index grow by this factor while too few pass the filter. */
const GROWTH = 4;

/** Beyond this many candidates a filtered search stops asking the index and scores the set exactly. */
const MAX_INDEX_CANDIDATES = 65_536;

export interface VectorSearchOptions {
  /** Only these images may be returned (a resolved filter); the k results are the best among them. */
  accept?: ReadonlySet<number>;
  /** Overrides EXACT_LIMIT. */
  exactLimit?: number;
}

function exactLimit(options: VectorSearchOptions): number {
  if (options.exactLimit !== undefined) return options.exactLimit;
  const fromEnv = Number(process.env.PICSIFT_EXACT_LIMIT ?? Number.NaN);
  return Number.isInteger(fromEnv) && fromEnv >= 0 ? fromEnv : EXACT_LIMIT;
}

export async function searchVectors(
  store: VectorStore,
  index: AnnIndex | null,
  query: Float32Array,
  k: number,
  options: VectorSearchOptions = {},
): Promise<Scored[]> {
  const { accept } = options;
  if (accept && (accept.size <= exactLimit(options) || !index || index.manifest.model.dims !== query.length)) {
    return exactOver(store, accept, query, k);
  }
  let top = new TopK(k);
  let watermark = 0;
  const small = !accept && index !== null && index.manifest.count <= exactLimit(options);
  if (index && !small && index.manifest.model.dims === query.length) {
    watermark = index.manifest.upTo;
    let wanted = k * OVERFETCH + 10;
    for (;;) {
      // Each round re-reads the larger candidate list from the start.
      top = new TopK(k);
      const hits = index.search(query, wanted);
      // Re-score candidates from the catalogue: an index entry counts only while it
      // is the image's current vector (position below the watermark); scores come
      // from the full-precision vector, not the index's quantised copy.
      const candidates = accept ? hits.filter((h) => accept.has(h.id)) : hits;
      const current = await store.vectorsOf(candidates.map((h) => h.id));
      let found = 0;
      for (const hit of candidates) {
        const stored = current.get(hit.id);
        if (stored && stored.position < watermark) {
          top.push({ id: hit.id, score: dot(query, stored.vector) });
          found++;
        }
      }
      if (!accept || found >= k) break;
      // Too few passed and the index gave all it will (HNSW may not reach every
      // entry, e.g. among identical vectors), or the filter keeps missing the
      // neighbourhood: scoring the set exactly is what guarantees K results.
      wanted *= GROWTH;
      if (hits.length < wanted / GROWTH || wanted > MAX_INDEX_CANDIDATES) return exactOver(store, accept, query, k);
    }
  }
  for await (const page of store.tail(watermark)) {
    for (const v of page) {
      if (accept && !accept.has(v.id)) continue;
      const score = dot(query, v.vector);
      if (score > top.threshold) top.push({ id: v.id, score });
    }
  }
  return top.sorted();
}

/** Scores exactly the vectors of the given images. */
async function exactOver(store: VectorStore, ids: ReadonlySet<number>, query: Float32Array, k: number): Promise<Scored[]> {
  const top = new TopK(k);
  const all = [...ids];
  const CHUNK = 4096;
  for (let i = 0; i < all.length; i += CHUNK) {
    for (const v of (await store.vectorsOf(all.slice(i, i + CHUNK))).values()) {
      const score = dot(query, v.vector);
      if (score > top.threshold) top.push({ id: v.id, score });
    }
  }
  return top.sorted();
}
