// What both backends share about rows: the images table's columns (the same in
// SQLite and PostgreSQL, so a row reads the same from either), the SQL helpers
// that are plain SQL in both, and how a stored vector is judged by verify.
import type { CatalogProblem, ImageRecord } from './types.js';
import { blobToVector } from '../util/vectors.js';

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

/**
 * Bounds for "path is under root" that use the path index: root/ ≤ path < root0
 * ('0' follows '/' in byte order: PostgreSQL's path column is COLLATE "C" for it).
 */
export function underRoot(root: string): [string, string] {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return [prefix, `${prefix.slice(0, -1)}0`];
}

export function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** Scanned roots are meta rows keyed ROOT_KEY + path (ScanRegistry.recordRoots); ROOT_KEY_END bounds their range. */
export const ROOT_KEY = 'root:';
export const ROOT_KEY_END = 'root;';

/** What is wrong with one stored vector, if anything (verify, in both backends). */
export function vectorProblem(
  r: { status: string | null; vector: Buffer },
  dims: number | undefined,
): Pick<CatalogProblem, 'kind' | 'detail'> | null {
  if (r.status !== 'embedded' && r.status !== 'removed') {
    return { kind: 'vector-without-embedded-image', detail: `has a vector but its image is ${r.status ?? 'missing'}` };
  }
  if (dims === undefined) return { kind: 'vector-of-unknown-space', detail: 'has a vector of a model the library does not record' };
  if (r.vector.byteLength !== dims * 4) {
    return { kind: 'vector-wrong-dims', detail: `vector has ${r.vector.byteLength / 4} dimensions, the library's model has ${dims}` };
  }
  const v = blobToVector(r.vector);
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (!Number.isFinite(norm) || Math.abs(norm - 1) > 1e-3) {
    return { kind: 'vector-not-unit', detail: `vector is not unit-length (norm ${norm})` };
  }
  return null;
}
