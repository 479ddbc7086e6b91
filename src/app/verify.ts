// `picsift verify` and `picsift repair`: checks that the catalogue is consistent
// (one finite unit vector of the model's width per embedded image, no vector
// without its image) and that the ANN index agrees with it; repairs by dropping
// and re-embedding, or rebuilding the derived index, never by guessing.
import type { Catalog, CatalogProblem } from '../catalog/catalog.js';
import { AnnIndex, buildIndex, readManifest } from '../index/ann-index.js';
import type { LibraryPaths } from '../library.js';

export interface IndexProblem {
  kind: 'index-other-model' | 'index-missing-vectors' | 'index-unreadable';
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  images: number;
  vectors: number;
  catalog: CatalogProblem[];
  index: IndexProblem[];
}

export function verifyLibrary(catalog: Catalog, paths: LibraryPaths): VerifyReport {
  const model = catalog.model();
  const counts = catalog.counts();
  const catalogProblems = model ? catalog.verify(model.dims) : [];
  if (!model && counts.embedded > 0) {
    catalogProblems.push({
      kind: 'embedded-without-vector',
      imageId: 0,
      path: null,
      detail: 'images are embedded but the library records no model',
    });
  }
  const indexProblems: IndexProblem[] = [];
  const manifest = readManifest(paths.index);
  if (manifest && model) {
    if (manifest.model.id !== model.id || manifest.model.dtype !== model.dtype || manifest.model.dims !== model.dims) {
      indexProblems.push({
        kind: 'index-other-model',
        detail: `index was built with ${manifest.model.id} (${manifest.model.dtype}), the library holds ${model.id} (${model.dtype})`,
      });
    } else {
      try {
        const index = AnnIndex.open(paths.index)!;
        const covered = [...catalog.vectorsAfter(0)].filter((v) => v.seq <= manifest.watermark).map((v) => v.id);
        const missing = index.missing(covered);
        if (missing.length > 0) {
          indexProblems.push({
            kind: 'index-missing-vectors',
            detail: `${missing.length} vectors the index claims to hold are absent from it (first: image ${missing[0]})`,
          });
        }
      } catch (err) {
        indexProblems.push({ kind: 'index-unreadable', detail: (err as Error).message });
      }
    }
  }
  return {
    ok: catalogProblems.length === 0 && indexProblems.length === 0,
    images: counts.images,
    vectors: counts.embedded,
    catalog: catalogProblems,
    index: indexProblems,
  };
}

/** Fixes what verify found; returns how many images go back to the embed queue. */
export function repairLibrary(catalog: Catalog, paths: LibraryPaths, report: VerifyReport): { requeued: number; indexRebuilt: boolean } {
  const fixable = report.catalog.filter((p) => p.imageId > 0);
  catalog.repair(fixable);
  const model = catalog.model();
  const indexRebuilt = Boolean(model && (report.index.length > 0 || fixable.length > 0) && readManifest(paths.index));
  if (indexRebuilt) buildIndex(paths.index, model!, (seq) => catalog.vectorsAfter(seq), { rebuild: true });
  return { requeued: new Set(fixable.map((p) => p.imageId)).size, indexRebuilt };
}
