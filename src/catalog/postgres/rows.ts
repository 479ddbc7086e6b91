// Rows of the PostgreSQL catalogue as domain records, and the SQL fragments the
// ports share. The columns mirror the SQLite catalogue's (sqlite/schema.ts), so a
// row reads the same from either backend; bigint and xid8 arrive as numbers
// through the type parsers in connection.ts.
import type { ImageRecord } from '../types.js';

export interface ImageRow {
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
  registered_at: number;
  embedded_at: number | null;
  seen_scan: number;
  taken_at: string | null;
  taken_offset: string | null;
  camera_make: string | null;
  camera_model: string | null;
  orientation: number | null;
  gps_lat: number | null;
  gps_lon: number | null;
}

/** Every column of ImageRow (not the lease columns, which only the queue reads), for SELECT and RETURNING lists. */
export const IMAGE_COLUMNS =
  'id, path, size, mtime_ms, format, status, width, height, content_hash, error, registered_at, embedded_at, seen_scan, ' +
  'taken_at, taken_offset, camera_make, camera_model, orientation, gps_lat, gps_lon';

/** IMAGE_COLUMNS qualified with a table alias. */
export function imageColumns(alias: string): string {
  return IMAGE_COLUMNS.split(', ')
    .map((c) => `${alias}.${c}`)
    .join(', ');
}

export function toRecord(r: ImageRow): ImageRecord {
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
      takenAt: r.taken_at,
      takenOffset: r.taken_offset,
      cameraMake: r.camera_make,
      cameraModel: r.camera_model,
      orientation: r.orientation,
      gpsLat: r.gps_lat,
      gpsLon: r.gps_lon,
    },
  };
}

/** Clears the EXIF columns when an image's content changes or it turns out not to be an image. */
export const NO_EXIF_SQL =
  'taken_at = NULL, taken_offset = NULL, camera_make = NULL, camera_model = NULL, orientation = NULL, gps_lat = NULL, gps_lon = NULL';

/** The active space's id as an SQL expression (NULL while the library has no model). */
export const ACTIVE_SPACE = `(SELECT id FROM spaces WHERE state = 'active')`;

/** Bounds for "path is under root" that use the path index (COLLATE "C": byte order): root/ ≤ path < root0 ('0' follows '/'). */
export function underRoot(root: string): [string, string] {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return [prefix, `${prefix.slice(0, -1)}0`];
}

export function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** A position for a query parameter: xid8's text form, so no float rounding on the way. */
export function positionParam(position: number): string {
  if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`vector position ${position} is not a non-negative integer`);
  return String(position);
}

/** Scanned roots are meta rows keyed ROOT_KEY + path (ScanRegistry.recordRoots), as in SQLite. */
export const ROOT_KEY = 'root:';
