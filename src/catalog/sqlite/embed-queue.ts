// The embed queue of the SQLite catalogue. One process writes a library (the
// writer lock), so a claim is simply the next pending images after the last one
// claimed: a killed run leaves its images pending and the next run starts over
// from the first of them. The queue remembers what it claimed, so that a commit
// never stores a vector of content that a re-scan (serve --watch, in the same
// process) has since found changed.
import type Database from 'better-sqlite3';
import type { CommitOutcome, EmbedQueue } from '../ports.js';
import type { EmbeddedImage, FailedImage, ImageRecord, ReusableVector } from '../types.js';
import { vectorToBlob, blobToVector } from '../../util/vectors.js';
import { ACTIVE_SPACE, toRecord, type ImageRow } from './rows.js';

export class SqliteEmbedQueue implements EmbedQueue {
  private cursor = 0;
  /** Size and mtime of each claimed image as the catalogue recorded them when it was claimed. */
  private readonly claimed = new Map<number, { size: number; mtimeMs: number }>();
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      pendingCount: db.prepare(`SELECT count(*) AS n FROM images WHERE status = 'pending'`),
      pending: db.prepare(`SELECT * FROM images WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?`),
      // Guarded on status = 'pending' and on the file the image was claimed as, so
      // an image that changed meanwhile (a re-scan saw new content) is never overwritten.
      markEmbedded: db.prepare(
        `UPDATE images SET status = 'embedded', size = @size, mtime_ms = @mtime, width = @width, height = @height,
           content_hash = @hash, error = NULL, embedded_at = @now
         WHERE id = @id AND status = 'pending' AND size = coalesce(@claimedSize, size) AND mtime_ms = coalesce(@claimedMtime, mtime_ms)`,
      ),
      upsertVector: db.prepare(
        `INSERT INTO vectors (space, image_id, vector) VALUES (${ACTIVE_SPACE}, ?, ?)
         ON CONFLICT (space, image_id) DO NOTHING`,
      ),
      // A re-embedding must get a new seq (its position), so the old row goes first.
      deleteVector: db.prepare(`DELETE FROM vectors WHERE image_id = ? AND space = ${ACTIVE_SPACE}`),
      setExif: db.prepare(
        `UPDATE images SET taken_at = @takenAt, taken_offset = @takenOffset, camera_make = @cameraMake, camera_model = @cameraModel,
           orientation = @orientation, gps_lat = @gpsLat, gps_lon = @gpsLon WHERE id = @id`,
      ),
      // A reused vector's bytes are identical to another image's: so is their EXIF.
      copyExif: db.prepare(
        `UPDATE images SET (taken_at, taken_offset, camera_make, camera_model, orientation, gps_lat, gps_lon) =
           (SELECT taken_at, taken_offset, camera_make, camera_model, orientation, gps_lat, gps_lon FROM images o
            WHERE o.content_hash = @hash AND o.id <> @id ORDER BY o.taken_at IS NULL, o.id LIMIT 1)
         WHERE id = @id`,
      ),
      markFailed: db.prepare(
        `UPDATE images SET status = 'failed', error = @reason
         WHERE id = @id AND status = 'pending' AND size = coalesce(@claimedSize, size) AND mtime_ms = coalesce(@claimedMtime, mtime_ms)`,
      ),
      vectorForHash: db.prepare(
        `SELECT v.vector, i.width, i.height FROM images i JOIN vectors v ON v.image_id = i.id
         WHERE i.content_hash = ? AND v.space = ${ACTIVE_SPACE} LIMIT 1`,
      ),
      retryFailed: db.prepare(`UPDATE images SET status = 'pending', error = NULL WHERE status = 'failed'`),
    };
  }

  async pendingCount(): Promise<number> {
    return (this.stmt.pendingCount.get() as { n: number }).n;
  }

  async claimedElsewhere(): Promise<number> {
    return 0; // one writer: nobody else claims
  }

  async claim(limit: number): Promise<ImageRecord[]> {
    // Images claimed and still in flight are pending too (a cursor moved back by
    // a lost image passes over them again): they are never handed out twice.
    const rows: ImageRecord[] = [];
    for (let after = this.cursor; rows.length < limit;) {
      const page = (this.stmt.pending.all(after, limit) as ImageRow[]).map(toRecord);
      rows.push(...page.filter((r) => !this.claimed.has(r.id)).slice(0, limit - rows.length));
      if (page.length < limit) break;
      after = page[page.length - 1].id;
    }
    if (rows.length > 0) this.cursor = rows[rows.length - 1].id;
    for (const r of rows) this.claimed.set(r.id, { size: r.size, mtimeMs: r.mtimeMs });
    return rows;
  }

  async commit(embedded: readonly EmbeddedImage[], failed: readonly FailedImage[]): Promise<CommitOutcome> {
    const now = Date.now();
    const outcome: CommitOutcome = { embedded: 0, failed: 0, lost: 0 };
    this.db.transaction(() => {
      for (const e of embedded) {
        const changed = this.stmt.markEmbedded.run({
          size: e.size,
          mtime: Math.trunc(e.mtimeMs),
          width: e.width,
          height: e.height,
          hash: e.contentHash,
          now,
          id: e.id,
          ...this.claimOf(e.id),
        }).changes;
        if (changed !== 1) {
          this.lose(e.id);
          outcome.lost++;
          continue;
        }
        this.stmt.deleteVector.run(e.id);
        this.stmt.upsertVector.run(e.id, vectorToBlob(e.vector));
        if (e.exif) this.stmt.setExif.run({ ...e.exif, id: e.id });
        else this.stmt.copyExif.run({ hash: e.contentHash, id: e.id });
        outcome.embedded++;
      }
      for (const f of failed) {
        if (this.stmt.markFailed.run({ reason: f.reason, id: f.id, ...this.claimOf(f.id) }).changes === 1) outcome.failed++;
        else {
          this.lose(f.id);
          outcome.lost++;
        }
      }
    })();
    for (const id of [...embedded.map((e) => e.id), ...failed.map((f) => f.id)]) this.claimed.delete(id);
    return outcome;
  }

  /** An image whose file changed after it was claimed is pending again with new content: claim it again. */
  private lose(id: number): void {
    this.cursor = Math.min(this.cursor, id - 1);
  }

  /** What the image was claimed as; an image committed without a claim (one writer: allowed) is guarded on status only. */
  private claimOf(id: number): { claimedSize: number | null; claimedMtime: number | null } {
    const claim = this.claimed.get(id);
    return { claimedSize: claim?.size ?? null, claimedMtime: claim ? Math.trunc(claim.mtimeMs) : null };
  }

  async vectorForContent(contentHash: string): Promise<ReusableVector | null> {
    const row = this.stmt.vectorForHash.get(contentHash) as { vector: Buffer; width: number; height: number } | undefined;
    return row ? { vector: blobToVector(row.vector), width: row.width, height: row.height } : null;
  }

  async retryFailed(): Promise<number> {
    return this.stmt.retryFailed.run().changes;
  }

  async close(): Promise<void> {
    // Claims are not recorded in SQLite: nothing to give back.
  }
}
