// `build-index`: brings this machine's ANN index up to date with the catalogue
// (derived data, rebuildable at any time).
import type { Catalog } from '../catalog/ports.js';
import { buildIndex, type BuildResult } from '../index/ann-index.js';
import type { LibraryPaths } from './library.js';

/** Null when there is nothing to index yet (no image has been embedded). */
export async function refreshIndex(
  catalog: Catalog,
  paths: Pick<LibraryPaths, 'index'>,
  options: { rebuild?: boolean; onProgress?: (added: number) => void } = {},
): Promise<BuildResult | null> {
  const model = await catalog.models.model();
  if (!model) return null;
  return buildIndex(paths.index, { catalogId: await catalog.identity(), model }, (from) => catalog.vectors.readForIndex(from), options);
}
