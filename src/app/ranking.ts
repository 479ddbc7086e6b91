// Every search ends here: a query vector, the library's filter, a cut-off, an
// image to leave out and an order become the results with their paths and dates.
import type { ImageQuery, VectorStore } from '../catalog/ports.js';
import type { SearchFilter } from '../catalog/types.js';
import type { AnnIndex } from '../index/ann-index.js';
import { searchVectors } from '../search/vector-search.js';
import { MAX_RESULTS } from './search-limits.js';
import { attachPaths, type SearchResult } from './search-results.js';

/** How results are ordered: by score (best first), or by date taken. */
export type SortOrder = 'score' | 'newest' | 'oldest';
export const SORT_ORDERS: readonly SortOrder[] = ['score', 'newest', 'oldest'];

export interface RankOptions {
  k: number;
  /** A fixed cut-off (cosine) instead of the adaptive one. */
  threshold?: number;
  /** Show the results below the cut-off too (each still says whether it is a match). */
  all?: boolean;
  /** Default 'score'. By date, the matches among the best MAX_RESULTS are ordered, and the first k shown. */
  sort?: SortOrder;
  filter?: SearchFilter | null;
  /** An image that must not appear (the query image itself in "more like this"). */
  exclude?: number;
}

/** The cut-off a search used, and where it came from. */
export interface Cutoff {
  /** Results scoring at or above this are matches (-1: every result). */
  score: number;
  /** 'adaptive': calibrated on this query over the library; 'threshold': given; 'uncalibrated': too few photos to tell, so all match. */
  source: 'adaptive' | 'threshold' | 'uncalibrated';
}

export interface RankedResults {
  results: SearchResult[];
  cutoff: Cutoff;
  /** Matches found among the results considered (the best k; the best MAX_RESULTS when sorting by date). */
  matches: number;
  /** Results among the best k that are below the cut-off: what --all adds (or, with --all, shows). */
  weaker: number;
}

export async function rankByVector(
  catalog: { vectors: VectorStore; images: ImageQuery },
  index: AnnIndex | null,
  query: Float32Array,
  options: RankOptions,
  cutoff: Cutoff,
): Promise<RankedResults> {
  const byDate = (options.sort ?? 'score') !== 'score';
  // A timeline of the matches needs all of them (up to the limit), not only the k best.
  const wanted = byDate && !options.all ? Math.max(options.k, MAX_RESULTS) : options.k;
  let accept: Set<number> | undefined;
  if (options.filter) accept = new Set(await catalog.images.matchingIds(options.filter));
  let k = wanted;
  if (options.exclude !== undefined) {
    // Removing it from the accepted set keeps k results; without a set, ask for one more.
    if (accept) accept.delete(options.exclude);
    else k++;
  }
  const hits = (await searchVectors(catalog.vectors, index, query, k, { accept }))
    .filter((hit) => hit.id !== options.exclude)
    .slice(0, wanted)
    .map((hit, i) => ({ ...hit, rank: i + 1 }));
  const isMatch = (score: number): boolean => score >= cutoff.score;
  const matches = hits.filter((h) => isMatch(h.score)).length;
  const weaker = hits.slice(0, options.k).filter((h) => !isMatch(h.score)).length;
  const shown = options.all ? hits : hits.filter((h) => isMatch(h.score));
  if (!byDate) return { results: await attachPaths(catalog.images, shown.slice(0, options.k), cutoff.score), cutoff, matches, weaker };
  const dated = await attachPaths(catalog.images, shown, cutoff.score);
  const direction = options.sort === 'oldest' ? 1 : -1;
  // Dates are "YYYY-MM-DDTHH:MM:SS": text order is time order.
  dated.sort((a, b) => direction * (a.date < b.date ? -1 : a.date > b.date ? 1 : 0) || a.rank - b.rank);
  return { results: dated.slice(0, options.k), cutoff, matches, weaker };
}
