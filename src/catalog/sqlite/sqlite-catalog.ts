// The SQLite catalogue (better-sqlite3): the embedded default, one file in the
// library folder. better-sqlite3 is synchronous, which is what makes it fast;
// the ports are Promise-based so that a networked backend fits the same seams.
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import type { Catalog, CatalogLock, EmbedQueue, LockMode } from '../ports.js';
import { CatalogBusyError, CatalogUnavailableError } from '../types.js';
import { LibraryBusyError, WriterLock } from '../../util/folder-lock.js';
import { SqliteEmbedQueue } from './embed-queue.js';
import { SqliteImageQuery } from './image-query.js';
import { SqliteMaintenance } from './maintenance.js';
import { SqliteModelRegistry } from './model-registry.js';
import { SqliteScanRegistry } from './scan-registry.js';
import { SqliteSpaceQueue } from './space-queue.js';
import { MIGRATE_V1_TO_V2, MIGRATE_V2_TO_V3, SCHEMA_V1, SCHEMA_VERSION } from './schema.js';
import { SqliteVectorStore } from './vector-store.js';

export class SqliteCatalog implements Catalog {
  readonly backend = 'sqlite';
  readonly scans: SqliteScanRegistry;
  readonly vectors: SqliteVectorStore;
  readonly images: SqliteImageQuery;
  readonly models: SqliteModelRegistry;
  readonly maintenance: SqliteMaintenance;
  private readonly db: Database.Database;
  private readonly pinned = new Map<number, SqliteVectorStore>();

  /**
   * Opens (and creates or upgrades) the catalogue file at `location`. With
   * `readOnly`, a catalogue this process may not write (a read-only folder or
   * disk, another user's library) is opened for reading instead of refused.
   */
  constructor(
    readonly location: string,
    options: { readOnly?: boolean } = {},
  ) {
    try {
      this.db = openWritable(location);
    } catch (err) {
      if (!options.readOnly || !isReadOnlyError(err)) throw unavailable(location, err);
      this.db = openReadOnly(location);
    }
    this.scans = new SqliteScanRegistry(this.db);
    this.vectors = new SqliteVectorStore(this.db);
    this.images = new SqliteImageQuery(this.db);
    this.models = new SqliteModelRegistry(this.db, location);
    this.maintenance = new SqliteMaintenance(this.db);
  }

  async identity(): Promise<string> {
    return this.db.prepare(`SELECT value FROM meta WHERE key = 'catalog_id'`).pluck().get() as string;
  }

  vectorsIn(space: number): SqliteVectorStore {
    let store = this.pinned.get(space);
    if (!store) this.pinned.set(space, (store = new SqliteVectorStore(this.db, space)));
    return store;
  }

  embedQueue(): EmbedQueue {
    return new SqliteEmbedQueue(this.db);
  }

  spaceQueue(space: number): EmbedQueue {
    return new SqliteSpaceQueue(this.db, space);
  }

  /** One process writes a library, whatever it does: every mode is the folder's writer lock. */
  async lock(_mode: LockMode, purpose: string): Promise<CatalogLock> {
    try {
      const lock = WriterLock.acquire(dirname(this.location), purpose);
      return { release: async () => lock.release() };
    } catch (err) {
      if (err instanceof LibraryBusyError) throw new CatalogBusyError(err.message);
      throw err;
    }
  }

  async close(): Promise<void> {
    if (!this.db.readonly) {
      // Leave the file in rollback-journal mode when no one else has it open, so
      // that it can be read where it cannot be written (a read-only disk or
      // folder): a WAL database needs its -shm file created even to be read.
      // While another connection is open this is refused (busy), and nothing changes.
      try {
        this.db.pragma('journal_mode = DELETE');
      } catch {
        // Another process has it open: it stays in WAL mode, as it must.
      }
    }
    this.db.close();
  }
}

function openWritable(location: string): Database.Database {
  const db = new Database(location);
  try {
    // WAL lets search and status read while an embed run writes. synchronous=FULL
    // fsyncs the WAL at every commit, so a committed batch survives power loss too,
    // at the cost of one fsync per batch (batches are tens of images).
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 10000');
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Reading a catalogue that cannot be written: no upgrade is possible, so it must be current. */
function openReadOnly(location: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(location, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 10000');
  } catch (err) {
    throw unavailable(location, err);
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version !== SCHEMA_VERSION) {
    db.close();
    throw new CatalogUnavailableError(
      `catalogue ${location} is read-only here and was written by ${version > SCHEMA_VERSION ? 'a newer' : 'an older'} picsift ` +
        `(schema ${version}, this one reads ${SCHEMA_VERSION}); ${version > SCHEMA_VERSION ? 'upgrade picsift' : 'run picsift once with write access to the library to upgrade it'}`,
    );
  }
  return db;
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SCHEMA_VERSION) return;
  if (version > SCHEMA_VERSION) {
    throw new Error(`it has schema version ${version}, newer than this picsift understands (${SCHEMA_VERSION}); upgrade picsift`);
  }
  db.transaction(() => {
    if (version < 1) db.exec(SCHEMA_V1);
    if (version < 2) db.exec(MIGRATE_V1_TO_V2);
    if (version < 3) {
      db.exec(MIGRATE_V2_TO_V3);
      db.prepare(`INSERT INTO meta (key, value) VALUES ('catalog_id', ?)`).run(randomUUID());
    }
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}

function isReadOnlyError(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code === 'EACCES' || code === 'EROFS';
}

/** One line naming the file and what to do, whatever SQLite said. */
function unavailable(location: string, err: unknown): CatalogUnavailableError {
  const code = (err as { code?: string }).code ?? '';
  const message = (err as Error).message;
  let fix = '';
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    fix = '; the file is damaged: `picsift recover` copies what can still be read into a new catalogue';
  } else if (code.startsWith('SQLITE_FULL') || code.startsWith('SQLITE_IOERR')) {
    fix = '; the disk may be full or failing: free space (or check the disk) and run the command again';
  } else if (isReadOnlyError(err)) {
    fix = '; this command needs to write the library: check its permissions, or use a library you can write';
  }
  return new CatalogUnavailableError(`cannot open catalogue ${location}: ${message}${fix}`, { cause: err });
}
