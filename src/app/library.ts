// A library: the catalogue (the single source of truth: the SQLite file in the
// library folder, or a PostgreSQL database shared by several machines) and this
// machine's derived data in the library folder (the ANN index, thumbnails, the
// model cache). Every use case starts by opening one.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
export { defaultLibraryDir } from './library-dir.js';
import { openCatalog } from '../catalog/open-catalog.js';
import type { Catalog, LockMode } from '../catalog/ports.js';
import { CatalogBusyError } from '../catalog/types.js';
import { LibraryBusyError, WriterLock } from '../util/folder-lock.js';

export interface LibraryPaths {
  root: string;
  /** The ANN index: derived, rebuildable from the catalogue. */
  index: string;
  /** Thumbnails made by `serve`: derived. */
  thumbnails: string;
  /** Downloaded hub models (override with PICSIFT_MODEL_CACHE to share one between libraries). */
  modelCache: string;
}

export interface LibraryOptions {
  /** The library folder. */
  library: string;
  /** A PostgreSQL URL: the catalogue lives there instead of the folder (--catalog, PICSIFT_CATALOG). */
  catalog?: string;
}

export interface Library {
  paths: LibraryPaths;
  catalog: Catalog;
}

export function libraryPaths(dir: string): LibraryPaths {
  const root = resolve(dir);
  return {
    root,
    index: join(root, 'index'),
    thumbnails: join(root, 'thumbnails'),
    modelCache: process.env.PICSIFT_MODEL_CACHE ? resolve(process.env.PICSIFT_MODEL_CACHE) : join(root, 'models'),
  };
}

export interface OpenLibraryOptions {
  /**
   * Commands that only read (status, search, errors, verify) refuse a library
   * that does not exist, rather than creating an empty one at a mistyped path.
   */
  mustExist?: boolean;
  /** Told when a networked catalogue stops answering and when it is back. */
  onWait?: (message: string) => void;
}

export async function openLibrary(options: LibraryOptions, open: OpenLibraryOptions = {}): Promise<Library> {
  const paths = libraryPaths(options.library);
  // A command that only reads creates nothing: openCatalog refuses a library that is not there.
  if (!open.mustExist) {
    try {
      mkdirSync(paths.root, { recursive: true });
    } catch (err) {
      throw new Error(`cannot create library folder ${paths.root}: ${(err as Error).message}`, { cause: err });
    }
  }
  const catalog = await openCatalog({ url: options.catalog, libraryDir: paths.root }, open);
  return { paths, catalog };
}

export interface Held {
  release(): Promise<void>;
}

/**
 * Takes what a command needs to itself: the catalogue's lock for `mode` and, for
 * commands that write this machine's derived data (the index), the library
 * folder's lock. Throws (naming the holder) when another process has either.
 */
export async function lockLibrary(library: Library, purpose: string, needs: { catalog?: LockMode; folder?: boolean }): Promise<Held> {
  const locks: Held[] = [];
  try {
    if (needs.catalog) locks.push(await library.catalog.lock(needs.catalog, purpose));
    if (needs.folder) {
      const folder = WriterLock.acquire(library.paths.root, purpose);
      locks.push({ release: async () => folder.release() });
    }
  } catch (err) {
    for (const lock of locks.reverse()) await lock.release();
    throw err instanceof LibraryBusyError ? new CatalogBusyError(err.message) : err;
  }
  return { release: async () => void (await Promise.all(locks.reverse().map((l) => l.release()))) };
}
