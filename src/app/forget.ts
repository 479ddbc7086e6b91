// `forget`: removes folders from the library, with everything derived from their
// images (thumbnails, index entries).
import { resolve } from 'node:path';
import { refreshIndex } from './index-service.js';
import type { Library } from './library.js';
import { removeThumbnails } from './thumbnail-files.js';

/** Returns the ids of the images forgotten. */
export async function forgetFolders(library: Library, dirs: readonly string[]): Promise<number[]> {
  const forgotten: number[] = [];
  for (const dir of dirs) forgotten.push(...(await library.catalog.maintenance.forget(resolve(dir))));
  if (forgotten.length > 0) {
    await removeThumbnails(library.paths.thumbnails, forgotten);
    await refreshIndex(library.catalog, library.paths, { rebuild: true });
  }
  return forgotten;
}
