// Nearest vectors by cosine over the catalogue, fast through the ANN index where
// it is current and exact for whatever the index lacks, so a missing or stale
// index never gives wrong or incomplete answers.
import type { Catalog } from '../catalog/catalog.js';
import type { AnnIndex } from '../index/ann-index.js';
import { dot } from '../util/vectors.js';
import { TopK, type Scored } from './top-k.js';

/** How many extra candidates to ask the index for, to make up for entries that went stale. */
const OVERFETCH = 2;

export function searchVectors(catalog: Catalog, index: AnnIndex | null, query: Float32Array, k: number): Scored[] {
  const top = new TopK(k);
  let watermark = 0;
  if (index && index.manifest.model.dims === query.length) {
    watermark = index.manifest.watermark;
    const hits = index.search(query, k * OVERFETCH + 10);
    // Re-score candidates from the catalogue: an index entry counts only while it
    // is the image's current vector (seq ≤ watermark); scores come from the
    // full-precision vector, not the index's quantised copy.
    const current = catalog.vectorsOf(hits.map((h) => h.id));
    for (const hit of hits) {
      const stored = current.get(hit.id);
      if (stored && stored.seq <= watermark) top.push({ id: hit.id, score: dot(query, stored.vector) });
    }
  }
  for (const v of catalog.vectorsAfter(watermark)) {
    const score = dot(query, v.vector);
    if (score > top.threshold) top.push({ id: v.id, score });
  }
  return top.sorted();
}
