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

  /** Opens (and creates or upgrades) the catalogue file at `location`. */
  constructor(readonly location: string) {
    try {
      this.db = new Database(location);
      // WAL lets search and status read while an embed run writes. synchronous=FULL
      // fsyncs the WAL at every commit, so a committed batch survives power loss too,
      // at the cost of one fsync per batch (batches are tens of images).
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 10000');
      this.migrate();
    } catch (err) {
      throw new CatalogUnavailableError(`cannot open catalogue ${location}: ${(err as Error).message}`, { cause: err });
    }
    this.scans = new SqliteScanRegistry(this.db);
    this.vectors = new SqliteVectorStore(this.db);
    this.images = new SqliteImageQuery(this.db);
    this.models = new SqliteModelRegistry(this.db, location);
    this.maintenance = new SqliteMaintenance(this.db);
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version === SCHEMA_VERSION) return;
    if (version > SCHEMA_VERSION) {
      throw new Error(`it has schema version ${version}, newer than this picsift understands (${SCHEMA_VERSION}); upgrade picsift`);
    }
    this.db.transaction(() => {
      if (version < 1) this.db.exec(SCHEMA_V1);
      if (version < 2) this.db.exec(MIGRATE_V1_TO_V2);
      if (version < 3) {
        this.db.exec(MIGRATE_V2_TO_V3);
        this.db.prepare(`INSERT INTO meta (key, value) VALUES ('catalog_id', ?)`).run(randomUUID());
      }
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }

  async identity(): Promise<string> {
    return this.db.prepare(`SELECT value FROM meta WHERE key = 'catalog_id'`).pluck().get() as string;
  }

  embedQueue(): EmbedQueue {
    return new SqliteEmbedQueue(this.db);
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
    this.db.close();
  }
}
