// `picsift verify` and `picsift repair`: checks that the catalogue's files are
// sound (the storage engine's own check), that it is consistent (one finite unit
// vector of the model's width per embedded image, no vector without its image),
// and that this machine's ANN index agrees with it; repairs by dropping and
// re-embedding, or rebuilding the derived index, never by guessing.
import type { Catalog } from '../catalog/ports.js';
import type { CatalogProblem, VectorSpace } from '../catalog/types.js';
import { AnnIndex, buildIndex, builtFrom, IndexDamagedError, readManifest } from '../index/ann-index.js';
import type { LibraryPaths } from './library.js';

export interface IndexProblem {
  kind: 'index-other-catalogue' | 'index-missing-vectors' | 'index-unreadable';
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  images: number;
  vectors: number;
  /** What the storage engine's own check found: the catalogue's file itself is damaged (see `picsift recover`). */
  storage: string[];
  catalog: CatalogProblem[];
  index: IndexProblem[];
  /** The vector spaces checked: every model's vectors (the active one, one being filled by reembed, retired ones). */
  spaces: { id: number; model: string; dtype: string; state: VectorSpace['state'] }[];
}

/** Page size for checking the index against the catalogue: memory stays flat at any library size. */
const PAGE = 4096;

export async function verifyLibrary(catalog: Catalog, paths: LibraryPaths, options: { full?: boolean } = {}): Promise<VerifyReport> {
  try {
    return await checkLibrary(catalog, paths, options);
  } catch (err) {
    // A damaged file can fail any query, the storage engine's own check included:
    // that is the finding (and repair must not edit such a file).
    if (!isDamage(err)) throw err;
    return { ok: false, images: 0, vectors: 0, storage: [(err as Error).message], catalog: [], index: [], spaces: [] };
  }
}

/** The storage engine's word for a damaged file (SQLite: SQLITE_CORRUPT, SQLITE_NOTADB; PostgreSQL: XX001, XX002). */
function isDamage(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || code === 'XX001' || code === 'XX002';
}

async function checkLibrary(catalog: Catalog, paths: LibraryPaths, options: { full?: boolean }): Promise<VerifyReport> {
  const storage = await catalog.maintenance.integrityCheck(Boolean(options.full));
  const model = await catalog.models.model();
  const counts = await catalog.images.counts();
  // A damaged file makes row-level checks meaningless (and repair harmful): report it alone.
  const catalogProblems = storage.length > 0 ? [] : await catalog.maintenance.verify();
  if (!model && counts.embedded > 0) {
    catalogProblems.push({
      kind: 'embedded-without-vector',
      imageId: 0,
      path: null,
      detail: 'images are embedded but the library records no model',
    });
  }
  const indexProblems = storage.length > 0 || !model ? [] : await checkIndex(catalog, paths, model);
  return {
    ok: storage.length === 0 && catalogProblems.length === 0 && indexProblems.length === 0,
    images: counts.images,
    vectors: counts.embedded,
    storage,
    catalog: catalogProblems,
    index: indexProblems,
    spaces:
      storage.length > 0
        ? []
        : (await catalog.models.spaces()).map((s) => ({ id: s.id, model: s.model.id, dtype: s.model.dtype, state: s.state })),
  };
}

async function checkIndex(
  catalog: Catalog,
  paths: LibraryPaths,
  model: NonNullable<Awaited<ReturnType<Catalog['models']['model']>>>,
): Promise<IndexProblem[]> {
  const manifest = readManifest(paths.index);
  if (!manifest) return [];
  const identity = { catalogId: await catalog.identity(), model };
  if (!builtFrom(manifest, identity)) {
    return [
      {
        kind: 'index-other-catalogue',
        detail: `the index in ${paths.index} was built from another catalogue or model (${manifest.model.id}, ${manifest.model.dtype}); it is ignored until rebuilt`,
      },
    ];
  }
  let index: AnnIndex;
  try {
    index = AnnIndex.open(paths.index, identity)!;
  } catch (err) {
    if (err instanceof IndexDamagedError) return [{ kind: 'index-unreadable', detail: err.message }];
    throw err;
  }
  const { pages } = await catalog.vectors.readForIndex(0, PAGE);
  let missing = 0;
  let first: number | null = null;
  for await (const page of pages) {
    const absent = index.missing(page.filter((v) => v.position < manifest.upTo).map((v) => v.id));
    missing += absent.length;
    first ??= absent[0] ?? null;
  }
  return missing > 0
    ? [{ kind: 'index-missing-vectors', detail: `${missing} vectors the index claims to hold are absent from it (first: image ${first})` }]
    : [];
}

/** Fixes what verify found; returns how many images go back to the embed queue. */
export async function repairLibrary(
  catalog: Catalog,
  paths: LibraryPaths,
  report: VerifyReport,
): Promise<{ requeued: number; indexRebuilt: boolean }> {
  if (report.storage.length > 0) {
    throw new Error(
      `the catalogue ${catalog.location} is damaged (${report.storage[0]}${report.storage.length > 1 ? `; ${report.storage.length - 1} more` : ''}); ` +
        'repair does not edit a damaged file: run `picsift recover` to copy what can still be read into a new catalogue',
    );
  }
  const fixable = report.catalog.filter((p) => p.imageId > 0);
  await catalog.maintenance.repair(fixable);
  const model = await catalog.models.model();
  const indexRebuilt = Boolean(model && (report.index.length > 0 || fixable.length > 0) && readManifest(paths.index));
  if (indexRebuilt) {
    await buildIndex(paths.index, { catalogId: await catalog.identity(), model: model! }, (from) => catalog.vectors.readForIndex(from), {
      rebuild: true,
    });
  }
  return { requeued: new Set(fixable.map((p) => p.imageId)).size, indexRebuilt };
}
