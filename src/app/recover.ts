// `recover`: a catalogue damaged on disk is copied, as far as it can be read,
// into a new one (the catalogue's own recovery; see catalog/sqlite/recover.ts).
// The catalogue may not even open, so only the library folder is locked.
import { recoverCatalog, type RecoverReport } from '../catalog/open-catalog.js';
import { CatalogBusyError } from '../catalog/types.js';
import { LibraryBusyError, WriterLock } from '../util/folder-lock.js';
import { refreshIndex } from './index-service.js';
import { libraryPaths, openLibrary, type LibraryOptions } from './library.js';

export async function recoverLibrary(options: LibraryOptions): Promise<RecoverReport> {
  const root = libraryPaths(options.library).root;
  let lock: WriterLock;
  try {
    lock = WriterLock.acquire(root, 'recover');
  } catch (err) {
    throw err instanceof LibraryBusyError ? new CatalogBusyError(err.message) : err;
  }
  try {
    const report = await recoverCatalog({ url: options.catalog, libraryDir: root });
    // The recovered catalogue is a new one: this machine's index is rebuilt from it now.
    const library = await openLibrary(options);
    try {
      await refreshIndex(library.catalog, library.paths, { rebuild: true });
    } finally {
      await library.catalog.close();
    }
    return report;
  } finally {
    lock.release();
  }
}
