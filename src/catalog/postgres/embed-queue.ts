// The embed queue of the PostgreSQL catalogue, shared by any number of workers on
// any number of machines. A claim leases pending images to this queue session
// (a random token) for leaseMs, taken with FOR UPDATE SKIP LOCKED so concurrent
// claims never take the same image; the session renews its leases in the
// background, and a worker that dies loses them when they expire. A commit
// writes only images still pending and leased to this session, so an image is
// never embedded twice: whatever another worker took over, or an earlier try of
// the same commit already wrote (a retry after a lost connection), counts as lost.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { CommitOutcome, EmbedQueue, EmbedQueueOptions } from '../ports.js';
import type { EmbeddedImage, FailedImage, ImageRecord, ReusableVector } from '../types.js';
import { blobToVector, vectorToBlob } from '../../util/vectors.js';
import type { PgConnection } from './connection.js';
import { isConnectionLoss } from './errors.js';
import { ACTIVE_SPACE, IMAGE_COLUMNS, toRecord, type ImageRow } from './rows.js';

const DEFAULT_LEASE_MS = 60_000;

/**
 * Marks one image embedded, if this session still holds it, and stores its vector in
 * the same statement. An upsert, not SQLite's delete + insert: a re-embedded image's
 * row gets the new vector and this transaction's position.
 */
const commitSql = (exif: 'given' | 'copied'): string => `
  WITH marked AS (
    UPDATE images SET status = 'embedded', size = $3, mtime_ms = $4, width = $5, height = $6, content_hash = $7,
      error = NULL, embedded_at = $8, lease_owner = NULL, lease_until = NULL,
      ${
        exif === 'given'
          ? 'taken_at = $9, taken_offset = $10, camera_make = $11, camera_model = $12, orientation = $13, gps_lat = $14, gps_lon = $15'
          : // A reused vector's bytes are identical to another image's: so is their EXIF.
            `(taken_at, taken_offset, camera_make, camera_model, orientation, gps_lat, gps_lon) =
             (SELECT taken_at, taken_offset, camera_make, camera_model, orientation, gps_lat, gps_lon FROM images o
              WHERE o.content_hash = $7 AND o.id <> $1 ORDER BY o.taken_at IS NULL, o.id LIMIT 1)`
      }
    WHERE id = $1 AND status = 'pending' AND lease_owner = $2
    RETURNING id
  )
  INSERT INTO vectors (space, image_id, vector) SELECT ${ACTIVE_SPACE}, id, $${exif === 'given' ? 16 : 9} FROM marked
  ON CONFLICT (space, image_id) DO UPDATE SET vector = excluded.vector, position = pg_current_xact_id()`;

export class PostgresEmbedQueue implements EmbedQueue {
  /** Who holds a claim: the worker's name (for people) and this session's random token (for uniqueness). */
  private readonly token: string;
  private readonly leaseMs: number;
  /** Images claimed and not yet committed: a claim never hands them out twice. */
  private readonly held = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly db: PgConnection,
    options: EmbedQueueOptions = {},
    private readonly onClose: (queue: PostgresEmbedQueue) => void = () => {},
  ) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    if (!(this.leaseMs > 0)) throw new RangeError(`leaseMs must be positive, got ${options.leaseMs}`);
    this.token = `${options.worker ?? `${hostname()} pid ${process.pid}`} ${randomUUID()}`;
  }

  async pendingCount(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(`SELECT count(*) AS n FROM images WHERE status = 'pending'`);
    return rows[0].n;
  }

  async claim(limit: number): Promise<ImageRecord[]> {
    if (this.closed) throw new Error('the embed queue is closed');
    this.startRenewing();
    // Images leased to this session but never handed out (a claim whose reply was lost
    // with the connection) are claimed again rather than left to expire.
    const { rows } = await this.db.query<ImageRow>(
      `UPDATE images SET lease_owner = $1, lease_until = now() + $2 * interval '1 millisecond'
       WHERE id IN (
         SELECT id FROM images
         WHERE status = 'pending'
           AND (lease_until IS NULL OR lease_until < now() OR (lease_owner = $1 AND NOT id = ANY($4::bigint[])))
         ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING ${IMAGE_COLUMNS}`,
      [this.token, this.leaseMs, limit, [...this.held]],
    );
    const records = rows.map(toRecord).sort((a, b) => a.id - b.id);
    for (const r of records) this.held.add(r.id);
    return records;
  }

  async commit(embedded: readonly EmbeddedImage[], failed: readonly FailedImage[]): Promise<CommitOutcome> {
    const now = Date.now();
    const outcome = await this.db.transaction(async (tx) => {
      const outcome: CommitOutcome = { embedded: 0, failed: 0, lost: 0 };
      // One statement per image, in order: an image reusing content embedded earlier in
      // the batch copies its EXIF, as in SQLite.
      for (const e of embedded) {
        const params: unknown[] = [e.id, this.token, e.size, Math.trunc(e.mtimeMs), e.width, e.height, e.contentHash, now];
        if (e.exif) {
          const x = e.exif;
          params.push(x.takenAt, x.takenOffset, x.cameraMake, x.cameraModel, x.orientation, x.gpsLat, x.gpsLon);
        }
        params.push(vectorToBlob(e.vector));
        const { rowCount } = await tx.query(commitSql(e.exif ? 'given' : 'copied'), params);
        if (rowCount === 1) outcome.embedded++;
        else outcome.lost++;
      }
      if (failed.length > 0) {
        const { rowCount } = await tx.query(
          `UPDATE images i SET status = 'failed', error = f.reason, lease_owner = NULL, lease_until = NULL
           FROM unnest($1::bigint[], $2::text[]) AS f(id, reason)
           WHERE i.id = f.id AND i.status = 'pending' AND i.lease_owner = $3`,
          [failed.map((f) => f.id), failed.map((f) => f.reason), this.token],
        );
        outcome.failed += rowCount ?? 0;
        outcome.lost += failed.length - (rowCount ?? 0);
      }
      return outcome;
    });
    for (const image of [...embedded, ...failed]) this.held.delete(image.id);
    return outcome;
  }

  async vectorForContent(contentHash: string): Promise<ReusableVector | null> {
    const { rows } = await this.db.query<{ vector: Buffer; width: number; height: number }>(
      `SELECT v.vector, i.width, i.height FROM images i JOIN vectors v ON v.image_id = i.id
       WHERE i.content_hash = $1 AND v.space = ${ACTIVE_SPACE} ORDER BY i.id LIMIT 1`,
      [contentHash],
    );
    return rows[0] ? { vector: blobToVector(rows[0].vector), width: rows[0].width, height: rows[0].height } : null;
  }

  async retryFailed(): Promise<number> {
    const { rowCount } = await this.db.query(`UPDATE images SET status = 'pending', error = NULL WHERE status = 'failed'`);
    return rowCount ?? 0;
  }

  /** Renews every lease of this session a third of the way through it; the timer never keeps the process alive. */
  private startRenewing(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.renewing) return;
      this.renewing = this.renew().finally(() => (this.renewing = null));
    }, this.leaseMs / 3);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    try {
      await this.db.queryOnce(
        `UPDATE images SET lease_until = now() + $2 * interval '1 millisecond' WHERE lease_owner = $1 AND status = 'pending'`,
        [this.token, this.leaseMs],
      );
    } catch {
      // The database is away or the catalogue closed: the next renewal tries again; a lease
      // that expires meanwhile is another worker's to take, and this one's commit of it is lost.
    }
  }

  /** Gives back this session's unfinished claims, so other workers need not wait for them to expire. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.renewing;
    try {
      await this.db.queryOnce('UPDATE images SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1', [this.token]);
    } catch (err) {
      // Unreachable: the leases expire on their own.
      if (!isConnectionLoss(err)) throw err;
    } finally {
      this.held.clear();
      this.onClose(this);
    }
  }
}
