// The library's counts, as `status` and the server report them.
import type { Catalog } from '../catalog/ports.js';
import { builtFrom, readManifest } from '../index/ann-index.js';
import type { LibraryPaths } from './library.js';

export interface LibraryStatus {
  images: number;
  embedded: number;
  pending: number;
  failed: number;
  /** Vectors this machine's ANN index holds that are still current. */
  indexed: number;
  model: string | null;
}

export async function libraryStatus(catalog: Catalog, paths: LibraryPaths): Promise<LibraryStatus> {
  const [counts, model] = await Promise.all([catalog.images.counts(), catalog.models.model()]);
  const manifest = readManifest(paths.index);
  const current = manifest && model && builtFrom(manifest, { catalogId: await catalog.identity(), model });
  return { ...counts, indexed: current ? await catalog.vectors.countBelow(manifest.upTo) : 0, model: model?.id ?? null };
}
