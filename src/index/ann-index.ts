// The approximate-nearest-neighbour index (usearch HNSW): the one module that uses
// usearch. It is derived data: a manifest records which catalogue vectors it holds
// (every seq up to its watermark), so search can cover the rest exactly.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import usearch from 'usearch';
import type { ModelIdentity, StoredVector } from '../catalog/catalog.js';
import { commitFile, writeFileDurably } from '../util/durable-files.js';

const { Index, MetricKind, ScalarKind } = usearch;

export interface IndexParams {
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
  quantization: 'f32' | 'f16' | 'i8';
}

// Chosen with bench:ann (synthetic CLIP-like vectors, text-like queries; see
// bench/synthetic-vectors.ts). i8 scalars: search re-scores its candidates with
// the catalogue's float32 vectors, which repairs what quantisation reorders (at
// 200k, recall@10 after re-scoring was as good as f16's or better), at half the
// size of f16 and with faster builds and searches. Connectivity 32 bought more
// recall per millisecond than 16 or 24 at the same build time; expansion_add 128
// made a better graph than 64 or 96; expansion_search 256 keeps recall@10 at
// 1M above 0.98 with a p50 well under 2 ms.
export const DEFAULT_PARAMS: IndexParams = { connectivity: 32, expansionAdd: 128, expansionSearch: 256, quantization: 'i8' };

export interface IndexManifest {
  version: 1;
  model: ModelIdentity;
  file: string;
  /** Every catalogue vector with seq ≤ watermark is in the index. */
  watermark: number;
  count: number;
  params: IndexParams;
  builtAt: string;
}

const MANIFEST = 'manifest.json';

export interface IndexHit {
  id: number;
  /** Cosine distance as stored (approximate when the index is quantised). */
  distance: number;
}

function newIndex(dims: number, params: IndexParams): InstanceType<typeof Index> {
  return new Index({
    dimensions: dims,
    metric: MetricKind.Cos,
    quantization: params.quantization as unknown as (typeof ScalarKind)[keyof typeof ScalarKind],
    connectivity: params.connectivity,
    expansion_add: params.expansionAdd,
    expansion_search: params.expansionSearch,
    multi: false,
  });
}

export function readManifest(dir: string): IndexManifest | null {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return null;
  try {
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as IndexManifest;
    return manifest.version === 1 && existsSync(join(dir, manifest.file)) ? manifest : null;
  } catch {
    return null; // A damaged manifest only costs speed: search falls back to exact.
  }
}

export class AnnIndex {
  private constructor(
    private readonly index: InstanceType<typeof Index>,
    readonly manifest: IndexManifest,
  ) {}

  /**
   * Opens the index for searching (memory-mapped, so a cold CLI call starts fast),
   * or null if there is none. `expansionSearch` overrides the manifest's (it is a
   * search-time setting; the file does not depend on it).
   */
  static open(dir: string, options: { expansionSearch?: number } = {}): AnnIndex | null {
    const manifest = readManifest(dir);
    if (!manifest) return null;
    const index = newIndex(manifest.model.dims, { ...manifest.params, expansionSearch: options.expansionSearch ?? manifest.params.expansionSearch });
    index.view(join(dir, manifest.file));
    return new AnnIndex(index, manifest);
  }

  /** The ids among `ids` that the index does not hold. */
  missing(ids: readonly number[]): number[] {
    if (ids.length === 0) return [];
    const present = this.index.contains(BigUint64Array.from(ids, (id) => BigInt(id))) as boolean[];
    return ids.filter((_, i) => !present[i]);
  }

  search(query: Float32Array, k: number): IndexHit[] {
    const size = this.index.size();
    if (size === 0 || k <= 0) return [];
    const matches = this.index.search(query, Math.min(k, size), 0);
    const hits: IndexHit[] = [];
    for (let i = 0; i < matches.keys.length; i++) hits.push({ id: Number(matches.keys[i]), distance: matches.distances[i] });
    return hits;
  }
}

export interface BuildResult {
  manifest: IndexManifest;
  added: number;
  /** True when an existing index was extended rather than rebuilt. */
  refreshed: boolean;
}

/**
 * Brings the index up to date with the catalogue. An index of the same model is
 * extended with the vectors committed after its watermark (re-embedded images
 * replace their old entry); otherwise it is rebuilt from scratch. The new file is
 * written beside the old one and the manifest switched atomically, so a crash
 * at any point leaves a usable index.
 */
export function buildIndex(
  dir: string,
  model: ModelIdentity,
  vectorsAfter: (seq: number) => Iterable<StoredVector>,
  options: { rebuild?: boolean; params?: IndexParams; onProgress?: (added: number) => void } = {},
): BuildResult {
  mkdirSync(dir, { recursive: true });
  const old = readManifest(dir);
  const sameModel =
    old && old.model.id === model.id && old.model.dtype === model.dtype && old.model.dims === model.dims;
  const refresh = Boolean(sameModel && !options.rebuild);
  const params = refresh ? old!.params : (options.params ?? DEFAULT_PARAMS);
  const index = newIndex(model.dims, params);
  if (refresh) index.load(join(dir, old!.file));
  let watermark = refresh ? old!.watermark : 0;

  const CHUNK = 4096;
  const keys = new BigUint64Array(CHUNK);
  const vectors = new Float32Array(CHUNK * model.dims);
  let pending = 0;
  let added = 0;
  const flush = (): void => {
    if (pending === 0) return;
    const k = keys.subarray(0, pending);
    if (refresh) {
      const present = index.contains(k) as boolean[];
      const stale = k.filter((_, i) => present[i]);
      if (stale.length > 0) index.remove(stale);
    }
    index.add(k, vectors.subarray(0, pending * model.dims), 0);
    added += pending;
    pending = 0;
    options.onProgress?.(added);
  };
  for (const v of vectorsAfter(watermark)) {
    if (v.vector.length !== model.dims) {
      throw new Error(`catalogue vector of image ${v.id} has ${v.vector.length} dimensions, expected ${model.dims}`);
    }
    keys[pending] = BigInt(v.id);
    vectors.set(v.vector, pending * model.dims);
    pending++;
    watermark = Math.max(watermark, v.seq);
    if (pending === CHUNK) flush();
  }
  flush();

  const file = `vectors-${Date.now()}-${process.pid}.usearch`;
  const tmp = join(dir, `${file}.tmp`);
  index.save(tmp);
  commitFile(tmp, join(dir, file));
  const manifest: IndexManifest = {
    version: 1,
    model,
    file,
    watermark,
    count: index.size(),
    params,
    builtAt: new Date().toISOString(),
  };
  writeFileDurably(join(dir, MANIFEST), JSON.stringify(manifest, null, 2));
  removeOtherIndexFiles(dir, file);
  return { manifest, added, refreshed: refresh };
}

/** Old index files and leftovers of interrupted builds; only called after the new manifest is durable. */
function removeOtherIndexFiles(dir: string, keep: string): void {
  for (const name of readdirSync(dir)) {
    if (name.startsWith('vectors-') && name !== keep) rmSync(join(dir, name), { force: true });
  }
}
