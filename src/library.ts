// A library is one folder holding everything picsift writes for a photo collection.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import envPaths from 'env-paths';
import { SqliteCatalog } from './catalog/sqlite-catalog.js';
import type { Catalog } from './catalog/catalog.js';

export interface LibraryPaths {
  root: string;
  /** The catalogue: the single source of truth. */
  catalog: string;
  /** The ANN index: derived, rebuildable from the catalogue. */
  index: string;
  /** Downloaded hub models (override with PICSIFT_MODEL_CACHE to share one between libraries). */
  modelCache: string;
}

/** The per-user data directory (XDG data dir on Linux, Application Support on macOS, LocalAppData on Windows). */
export function defaultLibraryDir(): string {
  return join(envPaths('picsift', { suffix: '' }).data, 'library');
}

export function libraryPaths(dir: string): LibraryPaths {
  const root = resolve(dir);
  return {
    root,
    catalog: join(root, 'catalog.sqlite'),
    index: join(root, 'index'),
    modelCache: process.env.PICSIFT_MODEL_CACHE ? resolve(process.env.PICSIFT_MODEL_CACHE) : join(root, 'models'),
  };
}

export function openLibrary(dir: string): { paths: LibraryPaths; catalog: Catalog } {
  const paths = libraryPaths(dir);
  try {
    mkdirSync(paths.root, { recursive: true });
  } catch (err) {
    throw new Error(`cannot create library folder ${paths.root}: ${(err as Error).message}`);
  }
  return { paths, catalog: new SqliteCatalog(paths.catalog) };
}
