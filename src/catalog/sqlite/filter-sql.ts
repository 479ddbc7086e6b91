// A SearchFilter as an SQL condition over the images table, with named parameters.
import type { SearchFilter } from '../types.js';

/**
 * When a photo was taken: EXIF's wall-clock time, else the file's mtime in this
 * machine's local time, so both compare with the user's local dates.
 */
const WHEN_TAKEN = `COALESCE(taken_at, strftime('%Y-%m-%dT%H:%M:%S', mtime_ms / 1000, 'unixepoch', 'localtime'))`;

export function filterToSql(filter: SearchFilter): { where: string; params: Record<string, unknown> } {
  const conditions: string[] = [];
  const params: Record<string, unknown> = {};
  if (filter.path && 'glob' in filter.path) {
    conditions.push('path GLOB @glob');
    params.glob = filter.path.glob;
  } else if (filter.path) {
    // Range bounds use the path index: folder/ ≤ path < folder0 ('0' follows '/').
    const folder = filter.path.folder === '/' ? '' : filter.path.folder;
    conditions.push('(path = @folder OR (path >= @below AND path < @beyond))');
    Object.assign(params, { folder: filter.path.folder, below: `${folder}/`, beyond: `${folder}0` });
  }
  if (filter.after !== undefined) {
    conditions.push(`${WHEN_TAKEN} >= @after`);
    params.after = filter.after;
  }
  if (filter.before !== undefined) {
    conditions.push(`${WHEN_TAKEN} < @before`);
    params.before = filter.before;
  }
  if (filter.camera !== undefined) {
    // instr, not LIKE: the user's text may hold % or _.
    conditions.push(`instr(lower(COALESCE(camera_make, '') || ' ' || COALESCE(camera_model, '')), lower(@camera)) > 0`);
    params.camera = filter.camera;
  }
  if (filter.minWidth !== undefined) {
    conditions.push('width >= @minWidth');
    params.minWidth = filter.minWidth;
  }
  if (filter.minHeight !== undefined) {
    conditions.push('height >= @minHeight');
    params.minHeight = filter.minHeight;
  }
  if (filter.formats !== undefined) {
    const names = filter.formats.map((f, i) => {
      params[`format${i}`] = f;
      return `@format${i}`;
    });
    conditions.push(`format IN (${names.join(', ')})`);
  }
  return { where: conditions.length ? conditions.join(' AND ') : '1', params };
}
