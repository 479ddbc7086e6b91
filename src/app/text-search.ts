// Text search: encode the query, find the nearest vectors, attach paths.
import type { Catalog } from '../catalog/catalog.js';
import type { AnnIndex } from '../index/ann-index.js';
import type { TextEncoder } from '../model/encoders.js';
import { searchVectors } from '../search/vector-search.js';

export interface SearchResult {
  rank: number;
  id: number;
  path: string;
  score: number;
}

export async function searchText(
  catalog: Catalog,
  index: AnnIndex | null,
  encoder: TextEncoder,
  query: string,
  k: number,
): Promise<SearchResult[]> {
  const vector = await encoder.encode([query]);
  return attachPaths(catalog, searchVectors(catalog, index, vector, k));
}

export function attachPaths(catalog: Catalog, hits: { id: number; score: number }[]): SearchResult[] {
  const records = catalog.images(hits.map((h) => h.id));
  return hits.map((hit, i) => ({ rank: i + 1, id: hit.id, path: records.get(hit.id)?.path ?? '', score: hit.score }));
}
