// Search results as the front ends show them: rank, id, path and score.
import type { Catalog } from '../catalog/catalog.js';

export interface SearchResult {
  rank: number;
  id: number;
  path: string;
  score: number;
}

export function attachPaths(catalog: Catalog, hits: { id: number; score: number }[]): SearchResult[] {
  const records = catalog.images(hits.map((h) => h.id));
  return hits.map((hit, i) => ({ rank: i + 1, id: hit.id, path: records.get(hit.id)?.path ?? '', score: hit.score }));
}
