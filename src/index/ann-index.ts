// The approximate-nearest-neighbour index (usearch HNSW): the one module that uses
// usearch. It is derived data: a manifest records which catalogue it was built
// from and which of its vectors it holds (every position below its watermark,
// in commit order), so search covers the rest exactly and an index of another
// catalogue or model is never used.
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import usearch from 'usearch';
import { sameModel, type ModelIdentity, type StoredVector } from '../catalog/types.js';
import { commitFile, writeFileDurably } from '../util/durable-files.js';
import { LibraryBusyError, WriterLock } from '../util/folder-lock.js';

const { Index, MetricKind } = usearch;

export interface IndexParams {
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
  quantization: 'f32' | 'f16' | 'i8';
}

// Chosen with bench:ann (synthetic CLIP-like vectors in topic clusters, text-like
// queries across the modality gap; see bench/synthetic-vectors.ts), 2 cores:
// - i8 scalars: search re-scores its candidates with the catalogue's float32
//   vectors, which repairs what quantisation misorders (1M: recall@10 0.88 from
//   the index alone, 0.98 after re-scoring; re-scoring 100 or 200 candidates
//   instead of 30 changed nothing). At 200k, f16 was no better after re-scoring;
//   i8 is half the size (1M: 0.79 GB; f16 at connectivity 32 would be 1.3 GB)
//   and builds and searches faster.
// - connectivity 32: more recall per millisecond than 16 or 24 at the same build
//   time; 48 was no better at 1M (0.981 at expansion 640 either way) and 16% larger.
// - expansion_add 128: a better graph than 64 or 96; 1M vectors build in 200 s.
// - expansion_search 704: recall@10 0.974–0.984 over four 1M builds (HNSW built
//   by two threads differs from build to build), p50 1.65–2.1 ms; 640 gave
//   0.971–0.981, 768 0.976–0.985 at 1.8–1.9 ms. Recall ≥ 0.98 with p50 ≤ 2 ms is
//   the edge of what this data allows on two cores (a better graph, expansion_add
//   192, reached 0.985 but builds in over 5 minutes).
// expansion_search is a search-time setting: AnnIndex.open can override it.
export const DEFAULT_PARAMS: IndexParams = { connectivity: 32, expansionAdd: 128, expansionSearch: 704, quantization: 'i8' };

/** What an index was built from: an index of another catalogue or model is never used. */
export interface IndexIdentity {
  /** The catalogue's identity (Catalog.identity()). */
  catalogId: string;
  model: ModelIdentity;
}

export interface IndexManifest extends IndexIdentity {
  version: 2;
  file: string;
  /** Every catalogue vector with position < upTo is in the index (positions are commit-ordered). */
  upTo: number;
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
    quantization: params.quantization as unknown as (typeof usearch.ScalarKind)[keyof typeof usearch.ScalarKind],
    connectivity: params.connectivity,
    expansion_add: params.expansionAdd,
    expansion_search: params.expansionSearch,
    multi: false,
  });
}

/** The manifest of the index in `dir`, or null when there is none (or one from before version 2, rebuilt on the next build). */
export function readManifest(dir: string): IndexManifest | null {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return null;
  try {
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as IndexManifest;
    return manifest.version === 2 && existsSync(join(dir, manifest.file)) ? manifest : null;
  } catch {
    return null; // A damaged manifest only costs speed: search falls back to exact, build-index rebuilds.
  }
}

/** Whether an index was built from this catalogue and model (else it describes other images and is ignored). */
export function builtFrom(manifest: IndexManifest, identity: IndexIdentity): boolean {
  return manifest.catalogId === identity.catalogId && sameModel(manifest.model, identity.model);
}

function writable(file: string): boolean {
  try {
    accessSync(file, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The index file cannot be read (truncated, overwritten, another format). */
export class IndexDamagedError extends Error {
  constructor(file: string, cause: unknown) {
    super(
      `the ANN index ${file} is damaged (${(cause as Error).message}); it is derived data: run \`picsift build-index --rebuild\` (or delete the folder ${dirname(file)})`,
      { cause },
    );
    this.name = 'IndexDamagedError';
  }
}

export class AnnIndex {
  private constructor(
    private readonly index: InstanceType<typeof Index>,
    readonly manifest: IndexManifest,
  ) {}

  /**
   * Opens the index for searching (memory-mapped, so a cold CLI call starts fast),
   * or null if there is none or it was built from another catalogue or model.
   * Throws IndexDamagedError when its file cannot be read. expansion_search is a
   * search-time setting (the file does not depend on it), so indexes built under
   * an older default search with today's DEFAULT_PARAMS value unless
   * `expansionSearch` says otherwise.
   */
  static open(dir: string, identity: IndexIdentity, options: { expansionSearch?: number } = {}): AnnIndex | null {
    const manifest = readManifest(dir);
    if (!manifest || !builtFrom(manifest, identity)) return null;
    const index = newIndex(manifest.model.dims, {
      ...manifest.params,
      expansionSearch: options.expansionSearch ?? DEFAULT_PARAMS.expansionSearch,
    });
    const file = join(dir, manifest.file);
    try {
      // usearch maps the file writable; where this process may not write it (a
      // read-only library), the index is read into memory instead.
      if (writable(file)) index.view(file);
      else index.load(file);
    } catch (err) {
      throw new IndexDamagedError(file, err);
    }
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

/** A consistent read of the catalogue's vectors from a position on (VectorStore.readForIndex). */
export type VectorReader = (from: number) => Promise<{ upTo: number; pages: AsyncIterable<StoredVector[]> }>;

/**
 * Brings the index up to date with the catalogue. An index of the same catalogue
 * and model is extended with the vectors committed at or after its watermark
 * (re-embedded images replace their old entry); otherwise it is rebuilt from
 * scratch. The new file is written beside the old one and the manifest switched
 * atomically, so a crash at any point leaves a usable index.
 */
export async function buildIndex(
  dir: string,
  identity: IndexIdentity,
  read: VectorReader,
  options: { rebuild?: boolean; params?: IndexParams; onProgress?: (added: number) => void } = {},
): Promise<BuildResult> {
  mkdirSync(dir, { recursive: true });
  // One build at a time per index folder: a build removes what its manifest does not
  // name, which would include another build's file in progress.
  let lock: WriterLock;
  try {
    lock = WriterLock.acquire(dir, 'index build');
  } catch (err) {
    if (err instanceof LibraryBusyError) throw new IndexBusyError(dir, err);
    throw err;
  }
  try {
    return await buildLocked(dir, identity, read, options);
  } finally {
    lock.release();
  }
}

/** Another process is building this index right now. */
export class IndexBusyError extends Error {
  constructor(dir: string, cause: LibraryBusyError) {
    super(`the ANN index in ${dir} is being built by another process right now (${cause.message}); try again when it is done`, { cause });
    this.name = 'IndexBusyError';
  }
}

async function buildLocked(
  dir: string,
  identity: IndexIdentity,
  read: VectorReader,
  options: { rebuild?: boolean; params?: IndexParams; onProgress?: (added: number) => void },
): Promise<BuildResult> {
  removeLeftovers(dir, readManifest(dir)?.file);
  const old = readManifest(dir);
  const refresh = Boolean(old && builtFrom(old, identity) && !options.rebuild);
  const params = refresh ? old!.params : (options.params ?? DEFAULT_PARAMS);
  const { dims } = identity.model;
  const index = newIndex(dims, params);
  if (refresh) {
    try {
      index.load(join(dir, old!.file));
    } catch (err) {
      throw new IndexDamagedError(join(dir, old!.file), err);
    }
  }
  const { upTo, pages } = await read(refresh ? old!.upTo : 0);

  let added = 0;
  for await (const page of pages) {
    const keys = new BigUint64Array(page.length);
    const vectors = new Float32Array(page.length * dims);
    page.forEach((v, i) => {
      if (v.vector.length !== dims) {
        throw new Error(`catalogue vector of image ${v.id} has ${v.vector.length} dimensions, expected ${dims}`);
      }
      keys[i] = BigInt(v.id);
      vectors.set(v.vector, i * dims);
    });
    if (refresh) {
      const present = index.contains(keys) as boolean[];
      const stale = keys.filter((_, i) => present[i]);
      if (stale.length > 0) index.remove(stale);
    }
    index.add(keys, vectors, 0);
    added += page.length;
    options.onProgress?.(added);
  }

  const file = `vectors-${Date.now()}-${process.pid}.usearch`;
  const tmp = join(dir, `${file}.tmp`);
  index.save(tmp);
  commitFile(tmp, join(dir, file));
  const manifest: IndexManifest = {
    version: 2,
    ...identity,
    file,
    upTo,
    count: index.size(),
    params,
    builtAt: new Date().toISOString(),
  };
  writeFileDurably(join(dir, MANIFEST), JSON.stringify(manifest, null, 2));
  removeLeftovers(dir, file);
  return { manifest, added, refreshed: refresh };
}

/**
 * Old index files and leftovers of interrupted builds (a half-written index, a
 * manifest's temporary copy): only the file the durable manifest names is kept.
 */
function removeLeftovers(dir: string, keep: string | undefined): void {
  for (const name of readdirSync(dir)) {
    const stale = (name.startsWith('vectors-') && name !== keep) || (name.startsWith(`${MANIFEST}.`) && name.endsWith('.tmp'));
    // writer.lock / writer.owner: the build lock (see buildIndex).
    if (stale) rmSync(join(dir, name), { force: true });
  }
}
