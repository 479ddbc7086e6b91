// The library's counts, as `status` and the server report them: images by
// status, this machine's index, and every model's vectors (the active model's,
// one being filled by `reembed`, retired ones kept until dropped).
import type { Catalog } from '../catalog/ports.js';
import type { VectorSpace } from '../catalog/types.js';
import { builtFrom, readManifest } from '../index/ann-index.js';
import type { LibraryPaths } from './library.js';

/** One model's vectors in the library. */
export interface SpaceStatus {
  model: string;
  dtype: string;
  dims: number;
  state: VectorSpace['state'];
  /** Embedded images with a vector from this model. */
  vectors: number;
  /** Images this model could not embed (for the active model: the failed images). */
  failed: number;
  /** Images still without a vector from it (for the active model: the pending images). */
  missing: number;
}

export interface LibraryStatus {
  images: number;
  embedded: number;
  pending: number;
  failed: number;
  /** Vectors this machine's ANN index holds that are still current. */
  indexed: number;
  model: string | null;
  dtype: string | null;
  /** The library folder (this machine's index, thumbnails and, for SQLite, the catalogue). */
  library: string;
  spaces: SpaceStatus[];
}

export async function libraryStatus(catalog: Catalog, paths: LibraryPaths): Promise<LibraryStatus> {
  const [counts, spaces] = await Promise.all([catalog.images.counts(), catalog.models.spaces()]);
  const model = spaces.find((s) => s.state === 'active')?.model ?? null;
  const manifest = readManifest(paths.index);
  const current = manifest && model && builtFrom(manifest, { catalogId: await catalog.identity(), model });
  const spaceStatus: SpaceStatus[] = [];
  for (const space of spaces) {
    const { id, dtype, dims } = space.model;
    if (space.state === 'active') {
      spaceStatus.push({
        model: id,
        dtype,
        dims,
        state: space.state,
        vectors: counts.embedded,
        failed: counts.failed,
        missing: counts.pending,
      });
    } else {
      const progress = await catalog.models.spaceProgress(space.id);
      spaceStatus.push({
        model: id,
        dtype,
        dims,
        state: space.state,
        vectors: progress.done,
        failed: progress.failed,
        missing: progress.missing,
      });
    }
  }
  return {
    ...counts,
    indexed: current ? await catalog.vectors.countBelow(manifest.upTo) : 0,
    model: model?.id ?? null,
    dtype: model?.dtype ?? null,
    library: paths.root,
    spaces: spaceStatus,
  };
}
