// Whole rows and settings of the PostgreSQL catalogue, for `picsift migrate`, which
// copies a catalogue between backends bit for bit and resumes after an
// interruption (from lastRowId). Ids are written as given; the identity's
// sequence then moves past them, so images registered later never collide.
import type { CatalogRow, CatalogSettings, VectorSpace } from '../types.js';
import { blobToVector, vectorToBlob } from '../../util/vectors.js';
import type { PgConnection } from './connection.js';
import { IMAGE_COLUMNS, toRecord, type ImageRow } from './rows.js';

type Row = ImageRow;

const READ_SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

export async function readRows(db: PgConnection, afterId: number, limit: number): Promise<CatalogRow[]> {
  // One snapshot: the images and their vectors from the same moment.
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<Row>(`SELECT ${IMAGE_COLUMNS} FROM images WHERE id > $1 ORDER BY id LIMIT $2`, [afterId, limit]);
    if (rows.length === 0) return [];
    const last = rows[rows.length - 1].id;
    const vectors = await tx.query<{ image_id: number; space: number; vector: Buffer }>(
      'SELECT image_id, space, vector FROM vectors WHERE image_id > $1 AND image_id <= $2 ORDER BY position, space, image_id',
      [afterId, last],
    );
    const failures = await tx.query<{ image_id: number; space: number; reason: string }>(
      'SELECT image_id, space, reason FROM space_failures WHERE image_id > $1 AND image_id <= $2 ORDER BY image_id, space',
      [afterId, last],
    );
    const byId = new Map<number, CatalogRow>(
      rows.map((r) => [
        r.id,
        { ...toRecord(r), registeredAt: r.registered_at, embeddedAt: r.embedded_at, seenScan: r.seen_scan, vectors: [], spaceFailures: [] },
      ]),
    );
    for (const v of vectors.rows) byId.get(v.image_id)?.vectors.push({ space: v.space, vector: blobToVector(v.vector) });
    for (const f of failures.rows) byId.get(f.image_id)?.spaceFailures.push({ space: f.space, reason: f.reason });
    return [...byId.values()];
  }, READ_SNAPSHOT);
}

export async function writeRows(db: PgConnection, rows: readonly CatalogRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  return db.transaction(async (tx) => {
    const col = <T>(f: (r: CatalogRow) => T): T[] => rows.map(f);
    // Rows whose id (or path) is present are skipped, as SQLite's ON CONFLICT DO NOTHING does.
    const inserted = await tx.query<{ id: number }>(
      `INSERT INTO images (id, path, size, mtime_ms, format, status, width, height, content_hash, error, registered_at,
         embedded_at, seen_scan, taken_at, taken_offset, camera_make, camera_model, orientation, gps_lat, gps_lon)
       SELECT id, path, size, mtime_ms, format, status, width, height, content_hash, error, registered_at,
         embedded_at, seen_scan, taken_at, taken_offset, camera_make, camera_model, orientation, gps_lat, gps_lon
       FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::int[], $8::int[], $9::text[],
         $10::text[], $11::bigint[], $12::bigint[], $13::bigint[], $14::text[], $15::text[], $16::text[], $17::text[],
         $18::int[], $19::float8[], $20::float8[]) WITH ORDINALITY
         AS u(id, path, size, mtime_ms, format, status, width, height, content_hash, error, registered_at,
           embedded_at, seen_scan, taken_at, taken_offset, camera_make, camera_model, orientation, gps_lat, gps_lon, n)
       ORDER BY n
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        col((r) => r.id),
        col((r) => r.path),
        col((r) => r.size),
        col((r) => Math.trunc(r.mtimeMs)),
        col((r) => r.format),
        col((r) => r.status),
        col((r) => r.width),
        col((r) => r.height),
        col((r) => r.contentHash),
        col((r) => r.error),
        col((r) => r.registeredAt),
        col((r) => r.embeddedAt),
        col((r) => r.seenScan),
        col((r) => r.exif.takenAt),
        col((r) => r.exif.takenOffset),
        col((r) => r.exif.cameraMake),
        col((r) => r.exif.cameraModel),
        col((r) => r.exif.orientation),
        col((r) => r.exif.gpsLat),
        col((r) => r.exif.gpsLon),
      ],
    );
    const written = new Set(inserted.rows.map((r) => r.id));
    const copied = rows.filter((r) => written.has(r.id));
    const vectors = copied.flatMap((r) => r.vectors.map((v) => ({ id: r.id, ...v })));
    if (vectors.length > 0) {
      await tx.query('INSERT INTO vectors (space, image_id, vector) SELECT * FROM unnest($1::int[], $2::bigint[], $3::bytea[])', [
        vectors.map((v) => v.space),
        vectors.map((v) => v.id),
        vectors.map((v) => vectorToBlob(v.vector)),
      ]);
    }
    const failures = copied.flatMap((r) => r.spaceFailures.map((f) => ({ id: r.id, ...f })));
    if (failures.length > 0) {
      await tx.query('INSERT INTO space_failures (space, image_id, reason) SELECT * FROM unnest($1::int[], $2::bigint[], $3::text[])', [
        failures.map((f) => f.space),
        failures.map((f) => f.id),
        failures.map((f) => f.reason),
      ]);
    }
    // Explicit ids leave the identity's sequence behind; move it past the largest id (never back).
    await tx.query(
      `SELECT setval('images_id_seq', m) FROM (SELECT max(id) AS m FROM images) AS t
       WHERE m > (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM images_id_seq)`,
    );
    return written.size;
  });
}

export async function lastRowId(db: PgConnection): Promise<number> {
  const { rows } = await db.query<{ id: number }>('SELECT coalesce(max(id), 0) AS id FROM images');
  return rows[0].id;
}

export async function settings(db: PgConnection): Promise<CatalogSettings> {
  return db.transaction(async (tx) => {
    const spaces = await tx.query<{ id: number; model_id: string; dtype: string; dims: number; state: VectorSpace['state'] }>(
      'SELECT id, model_id, dtype, dims, state FROM spaces ORDER BY id',
    );
    const lastScan = await tx.query<{ value: string }>(`SELECT value FROM meta WHERE key = 'last_scan'`);
    return {
      spaces: spaces.rows.map((s) => ({ id: s.id, model: { id: s.model_id, dtype: s.dtype, dims: s.dims }, state: s.state })),
      lastScan: Number(lastScan.rows[0]?.value ?? 0),
    };
  }, READ_SNAPSHOT);
}

export async function writeSettings(db: PgConnection, settings: CatalogSettings): Promise<void> {
  await db.transaction(async (tx) => {
    // States change in two steps so that the one-active-space index never sees two.
    await tx.query(`UPDATE spaces SET state = 'retired' WHERE state = 'active'`);
    for (const s of settings.spaces) {
      await tx.query(
        `INSERT INTO spaces (id, model_id, dtype, dims, state) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET model_id = excluded.model_id, dtype = excluded.dtype, dims = excluded.dims, state = excluded.state`,
        [s.id, s.model.id, s.model.dtype, s.model.dims, s.state === 'active' ? 'retired' : s.state],
      );
    }
    const active = settings.spaces.find((s) => s.state === 'active');
    if (active) await tx.query(`UPDATE spaces SET state = 'active' WHERE id = $1`, [active.id]);
    await tx.query(`INSERT INTO meta (key, value) VALUES ('last_scan', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [
      String(settings.lastScan),
    ]);
  });
}
