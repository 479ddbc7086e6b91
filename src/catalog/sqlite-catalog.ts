// The SQLite catalogue (better-sqlite3). The only module that talks SQL.
import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import {
  ModelMismatchError,
  type Catalog,
  type EmbeddedImage,
  type FailedImage,
  type ImageRecord,
  type ModelIdentity,
  type RegisterResult,
  type ScannedFile,
  type StatusCounts,
  type StoredVector,
} from './catalog.js';
import { SCHEMA_V1, SCHEMA_VERSION } from './schema.js';
import { blobToVector, vectorToBlob } from '../util/vectors.js';

interface ImageRow {
  id: number;
  path: string;
  size: number;
  mtime_ms: number;
  format: string;
  status: ImageRecord['status'];
  width: number | null;
  height: number | null;
  content_hash: string | null;
  error: string | null;
}

function toRecord(r: ImageRow): ImageRecord {
  return {
    id: r.id,
    path: r.path,
    size: r.size,
    mtimeMs: r.mtime_ms,
    format: r.format,
    status: r.status,
    width: r.width,
    height: r.height,
    contentHash: r.content_hash,
    error: r.error,
  };
}

export class SqliteCatalog implements Catalog {
  private readonly db: Database.Database;
  private readonly stmt: Record<string, Statement>;

  constructor(readonly location: string) {
    try {
      this.db = new Database(location);
    } catch (err) {
      throw new Error(`cannot open catalogue ${location}: ${(err as Error).message}`);
    }
    // WAL lets search and status read while an embed run writes. synchronous=FULL
    // fsyncs the WAL at every commit, so a committed batch survives power loss too,
    // at the cost of one fsync per batch (batches are tens of images).
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 10000');
    this.migrate();
    this.stmt = {
      findByPath: this.db.prepare('SELECT id, size, mtime_ms, status FROM images WHERE path = ?'),
      insertImage: this.db.prepare(
        `INSERT INTO images (path, size, mtime_ms, format, status, registered_at)
         VALUES (?, ?, ?, ?, 'pending', ?)`,
      ),
      markChanged: this.db.prepare(
        `UPDATE images SET size = ?, mtime_ms = ?, format = ?, status = 'pending',
           width = NULL, height = NULL, content_hash = NULL, error = NULL, embedded_at = NULL
         WHERE id = ?`,
      ),
      deleteVector: this.db.prepare('DELETE FROM vectors WHERE image_id = ?'),
      pending: this.db.prepare(
        `SELECT * FROM images WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?`,
      ),
      insertVector: this.db.prepare('INSERT INTO vectors (image_id, vector) VALUES (?, ?)'),
      markEmbedded: this.db.prepare(
        `UPDATE images SET status = 'embedded', width = ?, height = ?, content_hash = ?,
           error = NULL, embedded_at = ? WHERE id = ? AND status = 'pending'`,
      ),
      markFailed: this.db.prepare(
        `UPDATE images SET status = 'failed', error = ? WHERE id = ? AND status = 'pending'`,
      ),
      getMeta: this.db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      counts: this.db.prepare('SELECT status, count(*) AS n FROM images GROUP BY status'),
      vectorsAfter: this.db.prepare('SELECT image_id AS id, seq, vector FROM vectors WHERE seq > ? ORDER BY seq'),
      countUpTo: this.db.prepare('SELECT count(*) AS n FROM vectors WHERE seq <= ?'),
    };
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version === SCHEMA_VERSION) return;
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `catalogue ${this.location} has schema version ${version}, newer than this picsift understands (${SCHEMA_VERSION}); upgrade picsift`,
      );
    }
    this.db.transaction(() => {
      this.db.exec(SCHEMA_V1);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }

  registerFiles(files: readonly ScannedFile[]): RegisterResult {
    const result: RegisterResult = { added: 0, changed: 0, unchanged: 0 };
    const now = Date.now();
    this.db.transaction(() => {
      for (const f of files) {
        const row = this.stmt.findByPath.get(f.path) as
          | { id: number; size: number; mtime_ms: number; status: string }
          | undefined;
        if (!row) {
          this.stmt.insertImage.run(f.path, f.size, Math.trunc(f.mtimeMs), f.format, now);
          result.added++;
        } else if (row.size !== f.size || row.mtime_ms !== Math.trunc(f.mtimeMs) || row.status === 'removed') {
          // The file changed under the same path: its vector no longer describes it.
          this.stmt.deleteVector.run(row.id);
          this.stmt.markChanged.run(f.size, Math.trunc(f.mtimeMs), f.format, row.id);
          result.changed++;
        } else {
          result.unchanged++;
        }
      }
    })();
    return result;
  }

  pendingImages(afterId: number, limit: number): ImageRecord[] {
    return (this.stmt.pending.all(afterId, limit) as ImageRow[]).map(toRecord);
  }

  commitBatch(embedded: readonly EmbeddedImage[], failed: readonly FailedImage[]): void {
    const now = Date.now();
    this.db.transaction(() => {
      for (const e of embedded) {
        // Guarded on status = 'pending' so that a concurrent re-scan that changed
        // the file (or another writer that got there first) is never overwritten.
        const changed = this.stmt.markEmbedded.run(e.width, e.height, e.contentHash, now, e.id).changes;
        if (changed === 1) {
          this.stmt.deleteVector.run(e.id);
          this.stmt.insertVector.run(e.id, vectorToBlob(e.vector));
        }
      }
      for (const f of failed) this.stmt.markFailed.run(f.reason, f.id);
    })();
  }

  model(): ModelIdentity | null {
    const row = this.stmt.getMeta.get('model') as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as ModelIdentity) : null;
  }

  claimModel(model: ModelIdentity): void {
    this.db.transaction(() => {
      const recorded = this.model();
      if (!recorded) {
        this.stmt.setMeta.run('model', JSON.stringify(model));
      } else if (recorded.id !== model.id || recorded.dtype !== model.dtype || recorded.dims !== model.dims) {
        throw new ModelMismatchError(this.location, recorded, model);
      }
    }).immediate();
  }

  counts(): StatusCounts {
    const c: StatusCounts = { images: 0, embedded: 0, pending: 0, failed: 0 };
    for (const row of this.stmt.counts.all() as { status: string; n: number }[]) {
      if (row.status === 'removed') continue;
      c.images += row.n;
      if (row.status === 'embedded' || row.status === 'pending' || row.status === 'failed') c[row.status] += row.n;
    }
    return c;
  }

  images(ids: readonly number[]): Map<number, ImageRecord> {
    const out = new Map<number, ImageRecord>();
    for (const chunk of chunks(ids, 500)) {
      const rows = this.db
        .prepare(`SELECT * FROM images WHERE id IN (${chunk.map(() => '?').join(',')})`)
        .all(...chunk) as ImageRow[];
      for (const r of rows) out.set(r.id, toRecord(r));
    }
    return out;
  }

  *vectorsAfter(seq: number): IterableIterator<StoredVector> {
    for (const row of this.stmt.vectorsAfter.iterate(seq) as IterableIterator<{ id: number; seq: number; vector: Buffer }>) {
      yield { id: row.id, seq: row.seq, vector: blobToVector(row.vector) };
    }
  }

  vectorsOf(ids: readonly number[]): Map<number, StoredVector> {
    const out = new Map<number, StoredVector>();
    for (const chunk of chunks(ids, 500)) {
      const rows = this.db
        .prepare(`SELECT image_id AS id, seq, vector FROM vectors WHERE image_id IN (${chunk.map(() => '?').join(',')})`)
        .all(...chunk) as { id: number; seq: number; vector: Buffer }[];
      for (const r of rows) out.set(r.id, { id: r.id, seq: r.seq, vector: blobToVector(r.vector) });
    }
    return out;
  }

  countVectorsUpTo(seq: number): number {
    return (this.stmt.countUpTo.get(seq) as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
