// The library's counts, as `status` and the server report them.
import type { Catalog } from '../catalog/catalog.js';
import { readManifest } from '../index/ann-index.js';
import type { LibraryPaths } from '../library.js';

export interface LibraryStatus {
  images: number;
  embedded: number;
  pending: number;
  failed: number;
  /** Vectors the ANN index holds that are still current. */
  indexed: number;
  model: string | null;
}

export function libraryStatus(catalog: Catalog, paths: LibraryPaths): LibraryStatus {
  const counts = catalog.counts();
  const model = catalog.model();
  const manifest = readManifest(paths.index);
  const current = manifest && model && manifest.model.id === model.id && manifest.model.dtype === model.dtype;
  return { ...counts, indexed: current ? catalog.countVectorsUpTo(manifest.watermark) : 0, model: model?.id ?? null };
}
