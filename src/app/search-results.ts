// Search results as the front ends show them: rank, id, path and score.
import type { ImageQuery } from '../catalog/ports.js';

export interface SearchResult {
  rank: number;
  id: number;
  path: string;
  score: number;
}

export async function attachPaths(images: ImageQuery, hits: { id: number; score: number }[]): Promise<SearchResult[]> {
  const records = await images.get(hits.map((h) => h.id));
  return hits.map((hit, i) => ({ rank: i + 1, id: hit.id, path: records.get(hit.id)?.path ?? '', score: hit.score }));
}
