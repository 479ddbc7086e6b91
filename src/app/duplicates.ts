// Duplicate photos: identical files (same content hash) and near-duplicates
// (resized, re-encoded or lightly edited copies: cosine ≥ threshold). Each photo
// asks the ANN index for a few neighbours instead of comparing all pairs.
//
// Exact copies are always a group of their own. Near groups are built by
// complete linkage: a photo joins a group only if it is close to every member,
// not merely to one neighbour, so chains of pairwise-similar photos (common in
// a library of one trip) never snowball into one group of unrelated photos.
import type { Catalog } from '../catalog/ports.js';
import type { AnnIndex } from '../index/ann-index.js';
import { searchVectors } from '../search/vector-search.js';
import { dot } from '../util/vectors.js';

/** 0.95 suits CLIP models: resized and re-encoded copies score above it, different shots of a scene below. */
export const DEFAULT_DUPLICATE_THRESHOLD = 0.95;

/** Neighbours asked per image: a copy is among the very nearest. */
const NEIGHBOURS = 8;
/** Images between two yields to the event loop, so a server answers other requests meanwhile. */
const YIELD_EVERY = 64;

export interface DuplicateGroup {
  /** exact: every member has the same content; near: resized, re-encoded or edited copies. */
  kind: 'exact' | 'near';
  images: { id: number; path: string }[];
}

interface Pair {
  a: number;
  b: number;
  score: number;
}

export async function findDuplicates(
  catalog: Pick<Catalog, 'vectors' | 'images'>,
  index: AnnIndex | null,
  options: { threshold: number },
): Promise<DuplicateGroup[]> {
  const exact = await catalog.images.identicalContentGroups();
  // Exact copies share one vector: only the first of each group takes part in near matching.
  const copyOf = new Map<number, number>();
  for (const group of exact) for (const id of group.slice(1)) copyOf.set(id, group[0]);

  const pairs: Pair[] = [];
  let seen = 0;
  for await (const page of catalog.vectors.tail(0)) {
    for (const v of page) {
      if (copyOf.has(v.id)) continue;
      for (const hit of await searchVectors(catalog.vectors, index, v.vector, NEIGHBOURS + 1, { exactLimit: 0 })) {
        const other = copyOf.get(hit.id) ?? hit.id;
        if (other !== v.id && hit.score >= options.threshold)
          pairs.push({ a: Math.min(v.id, other), b: Math.max(v.id, other), score: hit.score });
      }
      if (++seen % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const near = await completeLinkage(catalog, pairs, options.threshold);

  const groups = [...exact.map((ids) => ({ kind: 'exact' as const, ids })), ...near.map((ids) => ({ kind: 'near' as const, ids }))];
  groups.sort((x, y) => x.ids[0] - y.ids[0] || (x.kind === 'exact' ? -1 : 1));
  const records = await catalog.images.get(groups.flatMap((g) => g.ids));
  return groups.map((g) => ({ kind: g.kind, images: g.ids.map((id) => ({ id, path: records.get(id)?.path ?? '' })) }));
}

/**
 * Groups in which every two members score ≥ threshold, grown from the closest
 * pairs down. Each image belongs to at most one group.
 */
async function completeLinkage(catalog: Pick<Catalog, 'vectors'>, pairs: Pair[], threshold: number): Promise<number[][]> {
  const ids = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  const vectors = new Map<number, Float32Array>();
  for (let i = 0; i < ids.length; i += 4096) {
    for (const v of (await catalog.vectors.vectorsOf(ids.slice(i, i + 4096))).values()) vectors.set(v.id, v.vector);
  }
  const close = (a: number, b: number): boolean => {
    const va = vectors.get(a);
    const vb = vectors.get(b);
    return Boolean(va && vb && dot(va, vb) >= threshold);
  };
  const groupOf = new Map<number, number[]>();
  pairs.sort((x, y) => y.score - x.score || x.a - y.a || x.b - y.b);
  for (const { a, b } of pairs) {
    const ga = groupOf.get(a) ?? [a];
    const gb = groupOf.get(b) ?? [b];
    if (ga === gb || !ga.every((x) => gb.every((y) => close(x, y)))) continue;
    const merged = [...ga, ...gb];
    for (const id of merged) groupOf.set(id, merged);
  }
  return [...new Set(groupOf.values())].map((g) => [...g].sort((x, y) => x - y));
}
