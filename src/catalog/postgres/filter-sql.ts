// A SearchFilter as a PostgreSQL condition over the images table, matching
// SQLite's (sqlite/filter-sql.ts) exactly: SQLite GLOB becomes an anchored
// regular expression, a folder a byte-order range, and dates the local
// wall-clock time of this process's zone, as SQLite's 'localtime' gives it.
import type { SearchFilter } from '../types.js';

/** This process's time zone (what SQLite's 'localtime' uses), for PostgreSQL's AT TIME ZONE. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/**
 * SQLite's GLOB pattern as an anchored PostgreSQL ARE, or null when it can match
 * nothing (SQLite never matches a pattern with an unclosed "["). Follows
 * SQLite's patternCompare: "*" any characters (also "/"), "?" one character,
 * "[…]" a class where "^" first negates, "]" first is literal, "-" between two
 * characters is a range and literal elsewhere; case-sensitive; everything else
 * literal (escaped, since ARE treats "\" + non-alphanumeric as that character).
 */
export function globToRegex(glob: string): string | null {
  const chars = Array.from(glob);
  let out = '^';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const set = parseClass(chars, i + 1);
      if (!set) return null;
      i = set.end;
      // Never empty: a "]" right after "[" (or "[^") is a member, and a reversed range keeps its first character.
      out += `[${set.invert ? '^' : ''}${set.items.join('')}]`;
    } else out += literal(c);
  }
  return `${out}$`;
}

/** A class starting after "[": its items as ARE bracket contents, and the index of its "]". */
function parseClass(chars: string[], start: number): { items: string[]; invert: boolean; end: number } | null {
  const items: string[] = [];
  let i = start;
  let invert = false;
  if (chars[i] === '^') {
    invert = true;
    i++;
  }
  if (chars[i] === ']') {
    items.push(literal(']'));
    i++;
  }
  // As SQLite: "-" is a range only after a character (not the leading "]", not a range's end) and before one that is not "]".
  let prior: string | null = null;
  for (; i < chars.length && chars[i] !== ']'; i++) {
    const c = chars[i];
    const next = chars[i + 1];
    if (c === '-' && prior !== null && next !== undefined && next !== ']') {
      // SQLite compares code points, and a reversed range matches nothing (an ARE would reject it);
      // the character before the "-" stays in the class on its own, as in SQLite.
      if (prior.codePointAt(0)! <= next.codePointAt(0)!) items.push(`${literal(prior)}-${literal(next)}`);
      prior = null;
      i++;
    } else {
      items.push(literal(c));
      prior = c;
    }
  }
  return i < chars.length ? { items, invert, end: i } : null;
}

function literal(c: string): string {
  return /^[A-Za-z0-9]$/.test(c) || c.codePointAt(0)! > 0x7f ? c : `\\${c}`;
}

/**
 * When a photo was taken: EXIF's wall-clock time, else the file's mtime as this
 * process's local time (SQLite: strftime(…, mtime_ms / 1000, 'unixepoch', 'localtime');
 * integer division truncates in both).
 */
const whenTaken = (zone: string): string =>
  `COALESCE(taken_at, to_char(to_timestamp(mtime_ms / 1000) AT TIME ZONE ${zone}, 'YYYY-MM-DD"T"HH24:MI:SS'))`;

/** The filter as a condition; its values are appended to `params` and referenced as $n. */
export function filterToSql(filter: SearchFilter, params: unknown[]): string {
  const p = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const conditions: string[] = [];
  if (filter.path && 'glob' in filter.path) {
    const regex = globToRegex(filter.path.glob);
    conditions.push(regex === null ? 'FALSE' : `path ~ ${p(regex)}`);
  } else if (filter.path) {
    // path is COLLATE "C", so these are byte-order bounds that use the path index.
    const folder = filter.path.folder === '/' ? '' : filter.path.folder;
    conditions.push(`(path = ${p(filter.path.folder)} OR (path >= ${p(`${folder}/`)} AND path < ${p(`${folder}0`)}))`);
  }
  if (filter.after !== undefined || filter.before !== undefined) {
    const when = whenTaken(`${p(localTimeZone())}::text`);
    if (filter.after !== undefined) conditions.push(`${when} >= ${p(filter.after)}::text COLLATE "C"`);
    if (filter.before !== undefined) conditions.push(`${when} < ${p(filter.before)}::text COLLATE "C"`);
  }
  if (filter.camera !== undefined) {
    // strpos, not LIKE: the user's text may hold % or _. COLLATE "C": lower() folds ASCII only, as SQLite's does.
    conditions.push(
      `strpos(lower((COALESCE(camera_make, '') || ' ' || COALESCE(camera_model, '')) COLLATE "C"), lower(${p(filter.camera)}::text COLLATE "C")) > 0`,
    );
  }
  if (filter.minWidth !== undefined) conditions.push(`width >= ${p(filter.minWidth)}::float8`);
  if (filter.minHeight !== undefined) conditions.push(`height >= ${p(filter.minHeight)}::float8`);
  if (filter.formats !== undefined) conditions.push(`format = ANY(${p(filter.formats)}::text[])`);
  return conditions.length ? conditions.join(' AND ') : 'TRUE';
}
