// Opens the catalogue a command names: PostgreSQL when given a URL (--catalog or
// PICSIFT_CATALOG), else the SQLite file in the library folder. The only place
// that knows which backends exist; PostgreSQL's client is loaded only when used.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalog } from './ports.js';
import { CatalogUnavailableError } from './types.js';
import { recoverSqliteCatalog, type RecoverReport } from './sqlite/recover.js';
import { SqliteCatalog } from './sqlite/sqlite-catalog.js';

export type { RecoverReport };

export interface CatalogTarget {
  /** A PostgreSQL URL (postgres://user@host:port/db); absent: the library folder's SQLite file. */
  url?: string;
  /** The library folder (its catalog.sqlite when there is no URL). */
  libraryDir: string;
}

export interface OpenCatalogOptions {
  /** Refuse to create a catalogue that does not exist yet (read-only commands: a typo must not make a new library). */
  mustExist?: boolean;
  /**
   * Told once when a networked catalogue stops answering and the backend waits
   * for it (a database restart), and once when it answers again. Without it the
   * backend still waits and retries, silently.
   */
  onWait?: (message: string) => void;
}

export const SQLITE_FILE = 'catalog.sqlite';

export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/** A URL for messages: the password (if any) replaced by "***". */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

/**
 * Copies what can still be read of a damaged catalogue into a new one, which
 * takes its place; the damaged file is kept beside it (see sqlite/recover.ts).
 */
export async function recoverCatalog(target: CatalogTarget): Promise<RecoverReport> {
  if (target.url !== undefined) {
    throw new Error(
      `recover repairs a library folder's SQLite catalogue; PostgreSQL (${maskUrl(target.url)}) keeps its own storage sound: restore it from your backup (pg_dump, pg_basebackup)`,
    );
  }
  const path = join(target.libraryDir, SQLITE_FILE);
  if (!existsSync(path)) throw new CatalogUnavailableError(`library ${target.libraryDir} has no ${SQLITE_FILE} to recover`);
  return recoverSqliteCatalog(path);
}

export async function openCatalog(target: CatalogTarget, options: OpenCatalogOptions = {}): Promise<Catalog> {
  if (target.url !== undefined) {
    if (!isPostgresUrl(target.url)) {
      throw new CatalogUnavailableError(
        `--catalog ${maskUrl(target.url)}: not a PostgreSQL URL; give postgres://USER@HOST:PORT/DATABASE, or leave --catalog out to use the library folder`,
      );
    }
    const { PostgresCatalog } = await import('./postgres/postgres-catalog.js');
    return PostgresCatalog.open(target.url, options);
  }
  const path = join(target.libraryDir, SQLITE_FILE);
  if (!existsSync(path)) {
    if (options.mustExist) {
      throw new CatalogUnavailableError(
        `library ${target.libraryDir} does not exist (it has no ${SQLITE_FILE}); check --library (or PICSIFT_LIBRARY), or create it with \`picsift index DIR\``,
      );
    }
  } else if (statSync(path).size === 0) {
    // SQLite would take an empty file for a new database and start an empty library over it.
    throw new CatalogUnavailableError(
      `catalogue ${path} is empty (0 bytes): it was truncated or replaced. Restore it from a backup, or move it away to start a new library`,
    );
  }
  return new SqliteCatalog(path, { readOnly: options.mustExist });
}
