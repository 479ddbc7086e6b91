// The queue of a building vector space in the PostgreSQL catalogue (`reembed`):
// the embedded images that have neither a vector nor a failure in the space, in
// id order. One reembed runs at a time (the 'reembed' lock), so a claim is a
// cursor, as in SQLite; `embed` workers may run meanwhile, on pending images,
// which this queue never touches. Images stay embedded in the active space
// throughout: search never sees this space until it is switched to.
import type { CommitOutcome, EmbedQueue } from '../ports.js';
import type { EmbeddedImage, FailedImage, ImageRecord, ReusableVector } from '../types.js';
import { blobToVector, vectorToBlob } from '../../util/vectors.js';
import type { PgConnection } from './connection.js';
import { imageColumns, toRecord, type ImageRow } from './rows.js';

const MISSING = `i.status = 'embedded'
  AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.image_id = i.id AND v.space = $1)
  AND NOT EXISTS (SELECT 1 FROM space_failures f WHERE f.image_id = i.id AND f.space = $1)`;

const BUILDING = `EXISTS (SELECT 1 FROM spaces WHERE id = $1 AND state = 'building')`;

export class PostgresSpaceQueue implements EmbedQueue {
  private cursor = 0;
  private readonly claimed = new Map<number, { size: number; mtimeMs: number }>();

  constructor(
    private readonly db: PgConnection,
    private readonly space: number,
  ) {}

  async pendingCount(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(`SELECT count(*) AS n FROM images i WHERE ${MISSING}`, [this.space]);
    return rows[0].n;
  }

  async claimedElsewhere(): Promise<number> {
    return 0; // one reembed at a time: nobody else claims this space's images
  }

  async claim(limit: number): Promise<ImageRecord[]> {
    const { rows } = await this.db.query<ImageRow>(
      `SELECT ${imageColumns('i')} FROM images i WHERE ${MISSING} AND i.id > $2 ORDER BY i.id LIMIT $3`,
      [this.space, this.cursor, limit],
    );
    const records = rows.map(toRecord);
    if (records.length > 0) this.cursor = records[records.length - 1].id;
    for (const r of records) this.claimed.set(r.id, { size: r.size, mtimeMs: r.mtimeMs });
    return records;
  }

  async commit(embedded: readonly EmbeddedImage[], failed: readonly FailedImage[]): Promise<CommitOutcome> {
    const outcome = await this.db.transaction(async (tx) => {
      const outcome: CommitOutcome = { embedded: 0, failed: 0, lost: 0 };
      for (const e of embedded) {
        const claim = this.claimed.get(e.id);
        // Only while the image is still embedded as the file it was claimed as (a re-scan that
        // found it changed has dropped its vectors) and the space is still being built.
        const { rowCount } = await tx.query(
          `INSERT INTO vectors (space, image_id, vector)
           SELECT $1, i.id, $3 FROM images i
           WHERE i.id = $2 AND i.status = 'embedded' AND i.size = coalesce($4, i.size) AND i.mtime_ms = coalesce($5, i.mtime_ms) AND ${BUILDING}
           ON CONFLICT (space, image_id) DO NOTHING`,
          [this.space, e.id, vectorToBlob(e.vector), claim?.size ?? null, claim ? Math.trunc(claim.mtimeMs) : null],
        );
        if (rowCount === 1) {
          await tx.query('DELETE FROM space_failures WHERE space = $1 AND image_id = $2', [this.space, e.id]);
          outcome.embedded++;
        } else outcome.lost++;
      }
      for (const f of failed) {
        const { rowCount } = await tx.query(
          `INSERT INTO space_failures (space, image_id, reason)
           SELECT $1, i.id, $3 FROM images i WHERE i.id = $2 AND i.status = 'embedded' AND ${BUILDING}
           ON CONFLICT (space, image_id) DO UPDATE SET reason = excluded.reason`,
          [this.space, f.id, f.reason],
        );
        if (rowCount === 1) outcome.failed++;
        else outcome.lost++;
      }
      return outcome;
    });
    for (const image of [...embedded, ...failed]) this.claimed.delete(image.id);
    return outcome;
  }

  async vectorForContent(contentHash: string): Promise<ReusableVector | null> {
    const { rows } = await this.db.query<{ vector: Buffer; width: number; height: number }>(
      `SELECT v.vector, i.width, i.height FROM images i JOIN vectors v ON v.image_id = i.id
       WHERE i.content_hash = $1 AND v.space = $2 ORDER BY i.id LIMIT 1`,
      [contentHash, this.space],
    );
    return rows[0] ? { vector: blobToVector(rows[0].vector), width: rows[0].width, height: rows[0].height } : null;
  }

  async retryFailed(): Promise<number> {
    const { rowCount } = await this.db.query('DELETE FROM space_failures WHERE space = $1', [this.space]);
    return rowCount ?? 0;
  }

  async close(): Promise<void> {
    // No leases: one reembed at a time holds the 'reembed' lock instead.
  }
}
