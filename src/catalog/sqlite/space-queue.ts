// The queue of a building vector space in the SQLite catalogue (`reembed`): the
// embedded images that have neither a vector nor a failure in the space, in id
// order. One process writes a library (the writer lock), so a claim is a cursor,
// as in embed-queue.ts; a killed run leaves its claims without a vector and the
// next run starts over from the first of them. Images stay embedded in the
// active space throughout: search never sees this space until it is switched to.
import type Database from 'better-sqlite3';
import type { CommitOutcome, EmbedQueue } from '../ports.js';
import type { EmbeddedImage, FailedImage, ImageRecord, ReusableVector } from '../types.js';
import { blobToVector, vectorToBlob } from '../../util/vectors.js';
import { toRecord, type ImageRow } from './rows.js';

const MISSING = `i.status = 'embedded'
  AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.image_id = i.id AND v.space = @space)
  AND NOT EXISTS (SELECT 1 FROM space_failures f WHERE f.image_id = i.id AND f.space = @space)`;

export class SqliteSpaceQueue implements EmbedQueue {
  private cursor = 0;
  private readonly claimed = new Map<number, { size: number; mtimeMs: number }>();
  private readonly stmt;

  constructor(
    private readonly db: Database.Database,
    private readonly space: number,
  ) {
    this.stmt = {
      pendingCount: db.prepare(`SELECT count(*) AS n FROM images i WHERE ${MISSING}`),
      claim: db.prepare(`SELECT i.* FROM images i WHERE ${MISSING} AND i.id > @after ORDER BY i.id LIMIT @limit`),
      // Only while the image is still embedded as the file it was claimed as (a re-scan
      // that found it changed has dropped its vectors) and the space is still being built.
      insertVector: db.prepare(
        `INSERT INTO vectors (space, image_id, vector)
         SELECT @space, i.id, @vector FROM images i
         WHERE i.id = @id AND i.status = 'embedded' AND i.size = coalesce(@size, i.size) AND i.mtime_ms = coalesce(@mtime, i.mtime_ms)
           AND EXISTS (SELECT 1 FROM spaces WHERE id = @space AND state = 'building')
         ON CONFLICT (space, image_id) DO NOTHING`,
      ),
      clearFailure: db.prepare('DELETE FROM space_failures WHERE space = ? AND image_id = ?'),
      insertFailure: db.prepare(
        `INSERT INTO space_failures (space, image_id, reason)
         SELECT @space, i.id, @reason FROM images i
         WHERE i.id = @id AND i.status = 'embedded' AND EXISTS (SELECT 1 FROM spaces WHERE id = @space AND state = 'building')
         ON CONFLICT (space, image_id) DO UPDATE SET reason = excluded.reason`,
      ),
      vectorForHash: db.prepare(
        `SELECT v.vector, i.width, i.height FROM images i JOIN vectors v ON v.image_id = i.id
         WHERE i.content_hash = ? AND v.space = ? LIMIT 1`,
      ),
      retryFailed: db.prepare('DELETE FROM space_failures WHERE space = ?'),
    };
  }

  async pendingCount(): Promise<number> {
    return (this.stmt.pendingCount.get({ space: this.space }) as { n: number }).n;
  }

  async claimedElsewhere(): Promise<number> {
    return 0; // one reembed at a time: nobody else claims this space's images
  }

  async claim(limit: number): Promise<ImageRecord[]> {
    const rows = (this.stmt.claim.all({ space: this.space, after: this.cursor, limit }) as ImageRow[]).map(toRecord);
    if (rows.length > 0) this.cursor = rows[rows.length - 1].id;
    for (const r of rows) this.claimed.set(r.id, { size: r.size, mtimeMs: r.mtimeMs });
    return rows;
  }

  async commit(embedded: readonly EmbeddedImage[], failed: readonly FailedImage[]): Promise<CommitOutcome> {
    const outcome: CommitOutcome = { embedded: 0, failed: 0, lost: 0 };
    this.db.transaction(() => {
      for (const e of embedded) {
        const claim = this.claimed.get(e.id);
        const params = {
          space: this.space,
          id: e.id,
          vector: vectorToBlob(e.vector),
          size: claim?.size ?? null,
          mtime: claim ? Math.trunc(claim.mtimeMs) : null,
        };
        if (this.stmt.insertVector.run(params).changes === 1) {
          this.stmt.clearFailure.run(this.space, e.id);
          outcome.embedded++;
        } else outcome.lost++;
      }
      for (const f of failed) {
        if (this.stmt.insertFailure.run({ space: this.space, id: f.id, reason: f.reason }).changes === 1) outcome.failed++;
        else outcome.lost++;
      }
    })();
    for (const image of [...embedded, ...failed]) this.claimed.delete(image.id);
    return outcome;
  }

  async vectorForContent(contentHash: string): Promise<ReusableVector | null> {
    const row = this.stmt.vectorForHash.get(contentHash, this.space) as { vector: Buffer; width: number; height: number } | undefined;
    return row ? { vector: blobToVector(row.vector), width: row.width, height: row.height } : null;
  }

  async retryFailed(): Promise<number> {
    return this.stmt.retryFailed.run(this.space).changes;
  }

  async close(): Promise<void> {
    // Claims are not recorded in SQLite: nothing to give back.
  }
}
