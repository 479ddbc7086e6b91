// Rows of the PostgreSQL catalogue as domain records, and the SQL fragments the
// ports share. The columns mirror the SQLite catalogue's (sqlite/schema.ts), so a
// row reads the same from either backend; bigint and xid8 arrive as numbers
// through the type parsers in connection.ts.
export { ACTIVE_SPACE, chunks, NO_EXIF_SQL, ROOT_KEY, toRecord, underRoot, type ImageRow } from '../rows.js';

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

/** A position for a query parameter: xid8's text form, so no float rounding on the way. */
export function positionParam(position: number): string {
  if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`vector position ${position} is not a non-negative integer`);
  return String(position);
}
