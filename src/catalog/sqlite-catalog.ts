// The SQLite catalogue (better-sqlite3). The only module that talks SQL.
import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import {
  ModelMismatchError,
  type Catalog,
  type CatalogProblem,
  type EmbeddedImage,
  type FailedFile,
  type FailedImage,
  type ImportedImage,
  type KnownFile,
  type ReusableVector,
  type ImageRecord,
  type ModelIdentity,
  type RegisterResult,
  type ScannedFile,
  type StatusCounts,
  type StoredVector,
} from './catalog.js';
import type { SearchFilter } from '../search/search-filter.js';
import { MIGRATE_V1_TO_V2, SCHEMA_V1, SCHEMA_VERSION } from './schema.js';
import { filterToSql } from './filter-sql.js';
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
  taken_at?: string | null;
  camera_make?: string | null;
  camera_model?: string | null;
  orientation?: number | null;
  gps_lat?: number | null;
  gps_lon?: number | null;
}

/** Clears the EXIF columns when an image's content changes or it turns out not to be an image. */
const NO_EXIF_SQL = 'taken_at = NULL, camera_make = NULL, camera_model = NULL, orientation = NULL, gps_lat = NULL, gps_lon = NULL';

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
    exif: {
      takenAt: r.taken_at ?? null,
      cameraMake: r.camera_make ?? null,
      cameraModel: r.camera_model ?? null,
      orientation: r.orientation ?? null,
      gpsLat: r.gps_lat ?? null,
      gpsLon: r.gps_lon ?? null,
    },
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
        `INSERT INTO images (path, size, mtime_ms, format, status, registered_at, seen_scan)
         VALUES (?, ?, ?, ?, 'pending', ?, ?)`,
      ),
      findKnown: this.db.prepare('SELECT size, mtime_ms, status, content_hash FROM images WHERE path = ?'),
      findForRegister: this.db.prepare(
        'SELECT id, size, mtime_ms, status, content_hash, (SELECT 1 FROM vectors WHERE image_id = images.id) AS has_vector FROM images WHERE path = ?',
      ),
      upsertSkipped: this.db.prepare(
        `INSERT INTO images (path, size, mtime_ms, format, status, error, registered_at, seen_scan)
         VALUES (@path, @size, @mtime, 'none', 'skipped', @reason, @now, @scan)
         ON CONFLICT (path) DO UPDATE SET size = @size, mtime_ms = @mtime, format = 'none', status = 'skipped',
           error = @reason, seen_scan = @scan, width = NULL, height = NULL, content_hash = NULL, embedded_at = NULL,
           ${NO_EXIF_SQL}`,
      ),
      markSeen: this.db.prepare('UPDATE images SET seen_scan = ? WHERE id = ?'),
      markSameContent: this.db.prepare(
        `UPDATE images SET size = ?, mtime_ms = ?, seen_scan = ?,
           status = CASE WHEN status = 'removed' THEN 'embedded' ELSE status END WHERE id = ?`,
      ),
      markChanged: this.db.prepare(
        `UPDATE images SET size = ?, mtime_ms = ?, format = ?, status = 'pending', seen_scan = ?,
           width = NULL, height = NULL, content_hash = NULL, error = NULL, embedded_at = NULL, ${NO_EXIF_SQL}
         WHERE id = ?`,
      ),
      markUnseen: this.db.prepare(
        `UPDATE images SET status = 'removed'
         WHERE (path = ? OR (path >= ? AND path < ?)) AND seen_scan <> ? AND status <> 'removed'`,
      ),
      forget: this.db.prepare('DELETE FROM images WHERE path = ? OR (path >= ? AND path < ?)'),
      failures: this.db.prepare(`SELECT id, path, error FROM images WHERE status = ? ORDER BY path`),
      retryFailed: this.db.prepare(`UPDATE images SET status = 'pending', error = NULL WHERE status = 'failed'`),
      vectorForHash: this.db.prepare(
        'SELECT v.vector, i.width, i.height FROM images i JOIN vectors v ON v.image_id = i.id WHERE i.content_hash = ? LIMIT 1',
      ),
      deleteVector: this.db.prepare('DELETE FROM vectors WHERE image_id = ?'),
      pending: this.db.prepare(`SELECT * FROM images WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?`),
      insertVector: this.db.prepare('INSERT INTO vectors (image_id, vector) VALUES (?, ?)'),
      markEmbedded: this.db.prepare(
        `UPDATE images SET status = 'embedded', size = ?, mtime_ms = ?, width = ?, height = ?, content_hash = ?,
           error = NULL, embedded_at = ? WHERE id = ? AND status = 'pending'`,
      ),
      setExif: this.db.prepare(
        `UPDATE images SET taken_at = @takenAt, camera_make = @cameraMake, camera_model = @cameraModel,
           orientation = @orientation, gps_lat = @gpsLat, gps_lon = @gpsLon WHERE id = @id`,
      ),
      // A reused vector's bytes are identical to another image's: so is their EXIF.
      copyExif: this.db.prepare(
        `UPDATE images SET (taken_at, camera_make, camera_model, orientation, gps_lat, gps_lon) =
           (SELECT taken_at, camera_make, camera_model, orientation, gps_lat, gps_lon FROM images o
            WHERE o.content_hash = @hash AND o.id <> @id ORDER BY o.taken_at IS NULL, o.id LIMIT 1)
         WHERE id = @id`,
      ),
      markFailed: this.db.prepare(`UPDATE images SET status = 'failed', error = ? WHERE id = ? AND status = 'pending'`),
      getMeta: this.db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      counts: this.db.prepare('SELECT status, count(*) AS n FROM images GROUP BY status'),
      // CROSS JOIN fixes the join order: walk vectors by seq (their primary key)
      // from the watermark. With a plain JOIN SQLite starts from every embedded
      // image and sorts; bench:query at 1M vectors: 160 ms per search for an
      // empty tail that way, 0.004 ms this way.
      vectorsAfter: this.db.prepare(
        `SELECT v.image_id AS id, v.seq, v.vector FROM vectors v CROSS JOIN images i ON i.id = v.image_id
         WHERE v.seq > ? AND i.status = 'embedded' ORDER BY v.seq`,
      ),
      hasEmbedded: this.db.prepare(`SELECT 1 FROM images WHERE status = 'embedded' LIMIT 1`),
      countUpTo: this.db.prepare(
        `SELECT count(*) AS n FROM vectors v JOIN images i ON i.id = v.image_id WHERE v.seq <= ? AND i.status = 'embedded'`,
      ),
      scanCounter: this.db.prepare(
        `INSERT INTO meta (key, value) VALUES ('last_scan', '1')
         ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING CAST(value AS INTEGER) AS id`,
      ),
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
      if (version < 1) this.db.exec(SCHEMA_V1);
      if (version < 2) this.db.exec(MIGRATE_V1_TO_V2);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }

  beginScan(): number {
    return (this.stmt.scanCounter.get() as { id: number }).id;
  }

  knownFiles(paths: readonly string[]): Map<string, KnownFile> {
    const out = new Map<string, KnownFile>();
    for (const path of paths) {
      const row = this.stmt.findKnown.get(path) as
        { size: number; mtime_ms: number; status: KnownFile['status']; content_hash: string | null } | undefined;
      if (row) out.set(path, { size: row.size, mtimeMs: row.mtime_ms, status: row.status, contentHash: row.content_hash });
    }
    return out;
  }

  registerFiles(files: readonly ScannedFile[], scanId: number): RegisterResult {
    const result: RegisterResult = { added: 0, skipped: 0, changed: 0, unchanged: 0 };
    const now = Date.now();
    this.db.transaction(() => {
      for (const f of files) {
        const mtime = Math.trunc(f.mtimeMs);
        const row = this.stmt.findForRegister.get(f.path) as
          { id: number; size: number; mtime_ms: number; status: string; content_hash: string | null; has_vector: 1 | null } | undefined;
        if (f.notImage !== undefined) {
          if (row) this.stmt.deleteVector.run(row.id);
          this.stmt.upsertSkipped.run({ path: f.path, size: f.size, mtime, now, scan: scanId, reason: f.notImage });
          result.skipped++;
        } else if (!row) {
          this.stmt.insertImage.run(f.path, f.size, mtime, f.format, now, scanId);
          result.added++;
        } else if (row.size === f.size && row.mtime_ms === mtime && row.status !== 'skipped') {
          // Unchanged; a removed image that is back (a folder remounted, say) gets its vector back.
          if (row.status !== 'removed') this.stmt.markSeen.run(scanId, row.id);
          else if (row.has_vector) this.stmt.markSameContent.run(f.size, mtime, scanId, row.id);
          else this.stmt.markChanged.run(f.size, mtime, f.format, scanId, row.id);
          result.unchanged++;
        } else if (f.contentHash !== undefined && f.contentHash === row.content_hash && row.has_vector) {
          // Touched or copied over with identical bytes: the vector still describes it.
          this.stmt.markSameContent.run(f.size, mtime, scanId, row.id);
          result.unchanged++;
        } else {
          // The content changed: its vector no longer describes it.
          this.stmt.deleteVector.run(row.id);
          this.stmt.markChanged.run(f.size, mtime, f.format, scanId, row.id);
          result.changed++;
        }
      }
    })();
    return result;
  }

  markUnseenRemoved(root: string, scanId: number): number {
    return this.stmt.markUnseen.run(root, ...underRoot(root), scanId).changes;
  }

  forget(root: string): number {
    return this.stmt.forget.run(root, ...underRoot(root)).changes;
  }

  failures(): { failed: FailedFile[]; skipped: FailedFile[] } {
    const list = (status: string): FailedFile[] =>
      (this.stmt.failures.all(status) as { id: number; path: string; error: string | null }[]).map((r) => ({
        id: r.id,
        path: r.path,
        reason: r.error ?? 'unknown error',
      }));
    return { failed: list('failed'), skipped: list('skipped') };
  }

  retryFailed(): number {
    return this.stmt.retryFailed.run().changes;
  }

  vectorForContent(contentHash: string): ReusableVector | null {
    const row = this.stmt.vectorForHash.get(contentHash) as { vector: Buffer; width: number; height: number } | undefined;
    return row ? { vector: blobToVector(row.vector), width: row.width, height: row.height } : null;
  }

  verify(dims: number): CatalogProblem[] {
    const problems: CatalogProblem[] = [];
    const withoutVector = this.db
      .prepare(`SELECT id, path FROM images i WHERE status = 'embedded' AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.image_id = i.id)`)
      .all() as { id: number; path: string }[];
    for (const r of withoutVector) {
      problems.push({ kind: 'embedded-without-vector', imageId: r.id, path: r.path, detail: 'marked embedded but has no vector' });
    }
    const vectors = this.db
      .prepare('SELECT v.image_id AS id, i.path, i.status, v.vector FROM vectors v LEFT JOIN images i ON i.id = v.image_id')
      .iterate() as IterableIterator<{ id: number; path: string | null; status: string | null; vector: Buffer }>;
    for (const r of vectors) {
      if (r.status !== 'embedded' && r.status !== 'removed') {
        problems.push({
          kind: 'vector-without-embedded-image',
          imageId: r.id,
          path: r.path,
          detail: `has a vector but its image is ${r.status ?? 'missing'}`,
        });
        continue;
      }
      if (r.vector.byteLength !== dims * 4) {
        problems.push({
          kind: 'vector-wrong-dims',
          imageId: r.id,
          path: r.path,
          detail: `vector has ${r.vector.byteLength / 4} dimensions, the library's model has ${dims}`,
        });
        continue;
      }
      const v = blobToVector(r.vector);
      let norm = 0;
      for (const x of v) norm += x * x;
      norm = Math.sqrt(norm);
      if (!Number.isFinite(norm) || Math.abs(norm - 1) > 1e-3) {
        problems.push({ kind: 'vector-not-unit', imageId: r.id, path: r.path, detail: `vector is not unit-length (norm ${norm})` });
      }
    }
    return problems;
  }

  repair(problems: readonly CatalogProblem[]): void {
    const requeue = this.db.prepare(
      `UPDATE images SET status = 'pending', error = NULL, embedded_at = NULL WHERE id = ? AND status = 'embedded'`,
    );
    this.db.transaction(() => {
      for (const p of problems) {
        // Every fix drops what is wrong; an embedded image loses its mark and is
        // embedded again by the next `embed`. Nothing is invented.
        if (p.kind !== 'embedded-without-vector') this.stmt.deleteVector.run(p.imageId);
        requeue.run(p.imageId);
      }
    })();
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
        const changed = this.stmt.markEmbedded.run(e.size, Math.trunc(e.mtimeMs), e.width, e.height, e.contentHash, now, e.id).changes;
        if (changed === 1) {
          this.stmt.deleteVector.run(e.id);
          this.stmt.insertVector.run(e.id, vectorToBlob(e.vector));
          if (e.exif) this.stmt.setExif.run({ ...e.exif, id: e.id });
          else this.stmt.copyExif.run({ hash: e.contentHash, id: e.id });
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
    this.db
      .transaction(() => {
        const recorded = this.model();
        if (!recorded) {
          this.stmt.setMeta.run('model', JSON.stringify(model));
        } else if (recorded.id !== model.id || recorded.dtype !== model.dtype || recorded.dims !== model.dims) {
          throw new ModelMismatchError(this.location, recorded, model);
        }
      })
      .immediate();
  }

  counts(): StatusCounts {
    const c: StatusCounts = { images: 0, embedded: 0, pending: 0, failed: 0 };
    for (const row of this.stmt.counts.all() as { status: string; n: number }[]) {
      if (row.status === 'removed' || row.status === 'skipped') continue;
      c.images += row.n;
      if (row.status === 'embedded' || row.status === 'pending' || row.status === 'failed') c[row.status] += row.n;
    }
    return c;
  }

  hasEmbedded(): boolean {
    return this.stmt.hasEmbedded.get() !== undefined;
  }

  images(ids: readonly number[]): Map<number, ImageRecord> {
    const out = new Map<number, ImageRecord>();
    for (const chunk of chunks(ids, 500)) {
      const rows = this.db.prepare(`SELECT * FROM images WHERE id IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as ImageRow[];
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
        .prepare(
          `SELECT v.image_id AS id, v.seq, v.vector FROM vectors v JOIN images i ON i.id = v.image_id
           WHERE i.status = 'embedded' AND v.image_id IN (${chunk.map(() => '?').join(',')})`,
        )
        .all(...chunk) as { id: number; seq: number; vector: Buffer }[];
      for (const r of rows) out.set(r.id, { id: r.id, seq: r.seq, vector: blobToVector(r.vector) });
    }
    return out;
  }

  importImages(images: readonly ImportedImage[]): { embedded: number; pending: number; skipped: number } {
    const result = { embedded: 0, pending: 0, skipped: 0 };
    const now = Date.now();
    const insert = this.db.prepare(
      `INSERT INTO images (path, size, mtime_ms, format, status, width, height, registered_at, embedded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO NOTHING`,
    );
    this.db.transaction(() => {
      for (const image of images) {
        const status = image.vector ? 'embedded' : 'pending';
        const info = insert.run(
          image.path,
          image.size,
          Math.trunc(image.mtimeMs),
          image.format,
          status,
          image.width,
          image.height,
          now,
          image.vector ? now : null,
        );
        if (info.changes === 0) {
          result.skipped++;
          continue;
        }
        if (image.vector) {
          this.stmt.insertVector.run(info.lastInsertRowid, vectorToBlob(image.vector));
          result.embedded++;
        } else {
          result.pending++;
        }
      }
    })();
    return result;
  }

  *exportImages(): IterableIterator<ImageRecord & { vector: Float32Array | null }> {
    const rows = this.db
      .prepare(
        `SELECT i.*, CASE WHEN i.status = 'embedded' THEN v.vector END AS vector FROM images i
         LEFT JOIN vectors v ON v.image_id = i.id WHERE i.status NOT IN ('removed', 'skipped') ORDER BY i.id`,
      )
      .iterate() as IterableIterator<ImageRow & { vector: Buffer | null }>;
    for (const row of rows) yield { ...toRecord(row), vector: row.vector ? blobToVector(row.vector) : null };
  }

  matchingImageIds(filter: SearchFilter): number[] {
    const { where, params } = filterToSql(filter);
    const rows = this.db
      .prepare(`SELECT id FROM images WHERE status = 'embedded' AND ${where} ORDER BY id`)
      .pluck()
      .all(params) as number[];
    return rows;
  }

  identicalContentGroups(): number[][] {
    const rows = this.db
      .prepare(
        `SELECT group_concat(id) AS ids FROM (SELECT id, content_hash FROM images
           WHERE status = 'embedded' AND content_hash IS NOT NULL AND content_hash <> '' ORDER BY id)
         GROUP BY content_hash HAVING count(*) > 1`,
      )
      .pluck()
      .all() as string[];
    return rows.map((ids) =>
      ids
        .split(',')
        .map(Number)
        .sort((a, b) => a - b),
    );
  }

  countVectorsUpTo(seq: number): number {
    return (this.stmt.countUpTo.get(seq) as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}

/** Bounds for "path is under root" that use the path index: root/ ≤ path < root0 ('0' follows '/'). */
function underRoot(root: string): [string, string] {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return [prefix, `${prefix.slice(0, -1)}0`];
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
