// Every search ends here: a query vector, the library's filter, a score cut-off
// and an image to leave out become the ranked results with their paths.
import type { Catalog } from '../catalog/ports.js';
import type { SearchFilter } from '../catalog/types.js';
import type { AnnIndex } from '../index/ann-index.js';
import { searchVectors } from '../search/vector-search.js';
import { attachPaths, type SearchResult } from './search-results.js';

export interface RankOptions {
  k: number;
  /** Results scoring below this are dropped (after the top-K cut: fewer than k may remain). */
  threshold?: number;
  filter?: SearchFilter | null;
  /** An image that must not appear (the query image itself in "more like this"). */
  exclude?: number;
}

export async function rankByVector(
  catalog: Pick<Catalog, 'vectors' | 'images'>,
  index: AnnIndex | null,
  query: Float32Array,
  options: RankOptions,
): Promise<SearchResult[]> {
  let accept: Set<number> | undefined;
  if (options.filter) accept = new Set(await catalog.images.matchingIds(options.filter));
  let k = options.k;
  if (options.exclude !== undefined) {
    // Removing it from the accepted set keeps k results; without a set, ask for one more.
    if (accept) accept.delete(options.exclude);
    else k++;
  }
  const hits = (await searchVectors(catalog.vectors, index, query, k, { accept }))
    .filter((hit) => hit.id !== options.exclude)
    .slice(0, options.k)
    .filter((hit) => options.threshold === undefined || hit.score >= options.threshold);
  return attachPaths(catalog.images, hits);
}
