// Duplicate photos: identical files (same content hash) and near-duplicates
// (resized, re-encoded or lightly edited copies: cosine ≥ threshold). Each image
// asks the ANN index for a few neighbours instead of comparing all pairs.
import type { Catalog, StoredVector } from '../catalog/catalog.js';
import type { AnnIndex } from '../index/ann-index.js';
import { UnionFind } from '../search/union-find.js';
import { searchVectors } from '../search/vector-search.js';

export const DEFAULT_DUPLICATE_THRESHOLD = 0.95;

/** Neighbours asked per image: a copy is among the very nearest; chains of copies join through union-find. */
const NEIGHBOURS = 8;

export interface DuplicateGroup {
  /** exact: every member has the same content; near: at least one differs in bytes. */
  kind: 'exact' | 'near';
  images: { id: number; path: string }[];
}

export function findDuplicates(catalog: Catalog, index: AnnIndex | null, options: { threshold: number }): DuplicateGroup[] {
  const sets = new UnionFind();
  for (const group of catalog.identicalContentGroups()) for (const id of group.slice(1)) sets.union(group[0], id);
  for (const page of pages(catalog)) {
    for (const v of page) {
      for (const hit of searchVectors(catalog, index, v.vector, NEIGHBOURS + 1, { exactLimit: 0 })) {
        if (hit.id !== v.id && hit.score >= options.threshold) sets.union(v.id, hit.id);
      }
    }
  }
  const groups = sets.groups();
  const records = catalog.images(groups.flat());
  return groups.map((ids) => {
    const hashes = new Set(ids.map((id) => records.get(id)?.contentHash ?? `none-${id}`));
    return { kind: hashes.size === 1 ? 'exact' : 'near', images: ids.map((id) => ({ id, path: records.get(id)?.path ?? '' })) };
  });
}

/**
 * Every vector, a page at a time: searching runs its own catalogue queries, which
 * SQLite refuses while a statement is still being iterated, so each page is read
 * and its iteration closed before any search.
 */
function* pages(catalog: Catalog, size = 1024): Generator<StoredVector[]> {
  let after = 0;
  for (;;) {
    const page: StoredVector[] = [];
    const iterator = catalog.vectorsAfter(after);
    for (const v of iterator) {
      page.push(v);
      if (page.length === size) break; // break closes the statement
    }
    if (page.length === 0) return;
    after = page[page.length - 1].seq;
    yield page;
    if (page.length < size) return;
  }
}
