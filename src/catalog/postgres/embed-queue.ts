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
import { DEFAULT_LEASE_MS, type CommitOutcome, type EmbedQueue, type EmbedQueueOptions } from '../ports.js';
import type { EmbeddedImage, FailedImage, ImageRecord, ReusableVector } from '../types.js';
import { blobToVector, vectorToBlob } from '../../util/vectors.js';
import type { PgConnection } from './connection.js';
import { isConnectionLoss } from './errors.js';
import { ACTIVE_SPACE, IMAGE_COLUMNS, toRecord, type ImageRow } from './rows.js';

/**
 * Marks a batch of images embedded, those this session still holds, and stores
 * their vectors, in one statement (one round trip for the whole batch: the
 * catalogue's cost per image is what limits many fast workers). An upsert, not
 * SQLite's delete + insert: a re-embedded image's row gets the new vector and
 * this transaction's position. `copied`: images reusing the vector of identical
 * content take that image's EXIF (run after the others, so content embedded
 * earlier in the same batch is found).
 */
const commitSql = (exif: 'given' | 'copied'): string => `
  WITH input AS (
    SELECT * FROM unnest($1::bigint[], $3::bigint[], $4::bigint[], $5::int[], $6::int[], $7::text[], $8::bytea[],
      $9::text[], $10::text[], $11::text[], $12::text[], $13::int[], $14::float8[], $15::float8[])
      AS t(id, size, mtime_ms, width, height, content_hash, vector, taken_at, taken_offset, camera_make, camera_model, orientation, gps_lat, gps_lon)
  ),
  marked AS (
    UPDATE images i SET status = 'embedded', size = t.size, mtime_ms = t.mtime_ms, width = t.width, height = t.height,
      content_hash = t.content_hash, error = NULL, embedded_at = $16, lease_owner = NULL, lease_until = NULL,
      ${
        exif === 'given'
          ? `taken_at = t.taken_at, taken_offset = t.taken_offset, camera_make = t.camera_make, camera_model = t.camera_model,
             orientation = t.orientation, gps_lat = t.gps_lat, gps_lon = t.gps_lon`
          : `(taken_at, taken_offset, camera_make, camera_model, orientation, gps_lat, gps_lon) =
             (SELECT taken_at, taken_offset, camera_make, camera_model, orientation, gps_lat, gps_lon FROM images o
              WHERE o.content_hash = t.content_hash AND o.id <> i.id ORDER BY o.taken_at IS NULL, o.id LIMIT 1)`
      }
    FROM input t
    WHERE i.id = t.id AND i.status = 'pending' AND i.lease_owner = $2
    RETURNING i.id
  )
  INSERT INTO vectors (space, image_id, vector) SELECT ${ACTIVE_SPACE}, m.id, t.vector FROM marked m JOIN input t ON t.id = m.id
  ON CONFLICT (space, image_id) DO UPDATE SET vector = excluded.vector, position = pg_current_xact_id()`;

/** The parameters of commitSql for `images`, column by column. */
function commitParams(images: readonly EmbeddedImage[], token: string, now: number): unknown[] {
  const col = <T>(f: (e: EmbeddedImage) => T): T[] => images.map(f);
  return [
    col((e) => e.id),
    token,
    col((e) => e.size),
    col((e) => Math.trunc(e.mtimeMs)),
    col((e) => e.width),
    col((e) => e.height),
    col((e) => e.contentHash),
    col((e) => vectorToBlob(e.vector)),
    col((e) => e.exif?.takenAt ?? null),
    col((e) => e.exif?.takenOffset ?? null),
    col((e) => e.exif?.cameraMake ?? null),
    col((e) => e.exif?.cameraModel ?? null),
    col((e) => e.exif?.orientation ?? null),
    col((e) => e.exif?.gpsLat ?? null),
    col((e) => e.exif?.gpsLon ?? null),
    now,
  ];
}

export class PostgresEmbedQueue implements EmbedQueue {
  /** Who holds a claim: the worker's name (for people) and this session's random token (for uniqueness). */
  private readonly token: string;
  private readonly leaseMs: number;
  /** Images claimed and not yet committed: a claim never hands them out twice. */
  private readonly held = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;
  private closed = false;
  /** The last image id claimed: the next claim looks after it first. */
  private cursor = 0;

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

  async claimedElsewhere(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `SELECT count(*) AS n FROM images WHERE status = 'pending' AND lease_until >= now() AND lease_owner <> $1`,
      [this.token],
    );
    return rows[0].n;
  }

  async claim(limit: number): Promise<ImageRecord[]> {
    if (this.closed) throw new Error('the embed queue is closed');
    this.startRenewing();
    // From the last image claimed on first: every update leaves a dead 'pending' entry
    // in the status index until vacuum, and starting from the first id each time
    // walked all of them again (claims slowed with the run). What lies behind the
    // cursor (expired leases, images registered since) is claimed when nothing is ahead.
    const ahead = await this.claimFrom(this.cursor, limit);
    const records = ahead.length < limit ? [...ahead, ...(await this.claimFrom(0, limit - ahead.length))] : ahead;
    records.sort((a, b) => a.id - b.id);
    if (records.length > 0) this.cursor = records[records.length - 1].id;
    return records;
  }

  private async claimFrom(after: number, limit: number): Promise<ImageRecord[]> {
    // Images leased to this session but never handed out (a claim whose reply was lost
    // with the connection) are claimed again rather than left to expire.
    const { rows } = await this.db.query<ImageRow>(
      `UPDATE images SET lease_owner = $1, lease_until = now() + $2 * interval '1 millisecond'
       WHERE id IN (
         SELECT id FROM images
         WHERE status = 'pending' AND id > $5
           AND (lease_until IS NULL OR lease_until < now() OR (lease_owner = $1 AND NOT id = ANY($4::bigint[])))
         ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING ${IMAGE_COLUMNS}`,
      [this.token, this.leaseMs, limit, [...this.held], after],
    );
    // Held at once, so the second look of the same claim does not take them again.
    for (const r of rows) this.held.add(r.id);
    return rows.map(toRecord);
  }

  async commit(embedded: readonly EmbeddedImage[], failed: readonly FailedImage[]): Promise<CommitOutcome> {
    const now = Date.now();
    const outcome = await this.db.transaction(async (tx) => {
      const outcome: CommitOutcome = { embedded: 0, failed: 0, lost: 0 };
      const given = embedded.filter((e) => e.exif);
      const copied = embedded.filter((e) => !e.exif);
      for (const [kind, images] of [
        ['given', given],
        ['copied', copied],
      ] as const) {
        if (images.length === 0) continue;
        const { rowCount } = await tx.query(commitSql(kind), commitParams(images, this.token, now));
        outcome.embedded += rowCount ?? 0;
        outcome.lost += images.length - (rowCount ?? 0);
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
