// Where a library lives when no --library is given (kept apart so that the
// command line's help can show it without loading the catalogue).
import { join } from 'node:path';
import envPaths from 'env-paths';

/** The per-user data directory (XDG data dir on Linux, Application Support on macOS, LocalAppData on Windows). */
export function defaultLibraryDir(): string {
  return join(envPaths('picsift', { suffix: '' }).data, 'library');
}
