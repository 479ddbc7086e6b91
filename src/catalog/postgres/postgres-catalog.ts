// The PostgreSQL catalogue (node-postgres): one catalogue shared by several
// machines, each embedding, searching or scanning through the same ports as the
// SQLite library. Opening connects, checks the server and migrates the schema;
// the ports each live in their own file beside this one.
import type { Catalog, CatalogLock, EmbedQueue, EmbedQueueOptions, LockMode } from '../ports.js';
import type { OpenCatalogOptions } from '../open-catalog.js';
import { PgConnection } from './connection.js';
import { PostgresEmbedQueue } from './embed-queue.js';
import { PostgresImageQuery } from './image-query.js';
import { takeLock } from './locks.js';
import { PostgresMaintenance } from './maintenance.js';
import { PostgresModelRegistry } from './model-registry.js';
import { PostgresScanRegistry } from './scan-registry.js';
import { PostgresSpaceQueue } from './space-queue.js';
import { migrate } from './schema.js';
import { PostgresVectorStore } from './vector-store.js';

export class PostgresCatalog implements Catalog {
  readonly backend = 'postgres';
  readonly location: string;
  readonly scans: PostgresScanRegistry;
  readonly vectors: PostgresVectorStore;
  readonly images: PostgresImageQuery;
  readonly models: PostgresModelRegistry;
  readonly maintenance: PostgresMaintenance;
  private readonly queues = new Set<PostgresEmbedQueue>();
  private readonly locks = new Set<CatalogLock>();
  private readonly pinned = new Map<number, PostgresVectorStore>();
  private catalogId: string | null = null;

  private constructor(
    private readonly db: PgConnection,
    private readonly onWait: ((message: string) => void) | undefined,
  ) {
    this.location = db.location;
    this.scans = new PostgresScanRegistry(db);
    this.vectors = new PostgresVectorStore(db);
    this.images = new PostgresImageQuery(db);
    this.models = new PostgresModelRegistry(db);
    this.maintenance = new PostgresMaintenance(db);
  }

  /** Connects to `url` and creates or upgrades the catalogue's schema; throws CatalogUnavailableError naming the masked URL. */
  static async open(url: string, options: OpenCatalogOptions = {}): Promise<PostgresCatalog> {
    const db = await PgConnection.open(url, options.onWait);
    try {
      await migrate(db, options.mustExist ?? false);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new PostgresCatalog(db, options.onWait);
  }

  async identity(): Promise<string> {
    this.catalogId ??= (await this.db.query<{ value: string }>(`SELECT value FROM meta WHERE key = 'catalog_id'`)).rows[0].value;
    return this.catalogId;
  }

  vectorsIn(space: number): PostgresVectorStore {
    let store = this.pinned.get(space);
    if (!store) this.pinned.set(space, (store = new PostgresVectorStore(this.db, space)));
    return store;
  }

  spaceQueue(space: number): EmbedQueue {
    return new PostgresSpaceQueue(this.db, space);
  }

  embedQueue(options?: EmbedQueueOptions): EmbedQueue {
    const queue = new PostgresEmbedQueue(this.db, options, (q) => this.queues.delete(q));
    this.queues.add(queue);
    return queue;
  }

  async lock(mode: LockMode, purpose: string): Promise<CatalogLock> {
    const held = await takeLock(this.db, mode, purpose, this.onWait);
    const lock: CatalogLock = {
      release: async () => {
        this.locks.delete(lock);
        await held.release();
      },
    };
    this.locks.add(lock);
    return lock;
  }

  /** Gives back the queues' claims, releases the locks and ends every connection. */
  async close(): Promise<void> {
    await Promise.all([...this.queues].map((q) => q.close()));
    await Promise.all([...this.locks].map((l) => l.release()));
    await this.vectors.close();
    await Promise.all([...this.pinned.values()].map((store) => store.close()));
    await this.db.close();
  }
}
