// Which photos a search may return: parsed and validated here, once, for both the
// command line and the API (each passes its own parameter names, so messages name
// what the user typed). The catalogue turns a filter into the set of matching ids.
import { isAbsolute, resolve } from 'node:path';
import type { SearchFilter } from '../catalog/types.js';

export type { SearchFilter };

export interface RawFilter {
  path?: string;
  after?: string;
  before?: string;
  camera?: string;
  minWidth?: string | number;
  minHeight?: string | number;
  format?: string;
}

/** Parameter names as the caller's users know them (e.g. "--min-width" or "minWidth"). */
export type FilterNames = Record<keyof RawFilter, string>;

export const CLI_FILTER_NAMES: FilterNames = {
  path: '--path',
  after: '--after',
  before: '--before',
  camera: '--camera',
  minWidth: '--min-width',
  minHeight: '--min-height',
  format: '--format',
};

export const API_FILTER_NAMES: FilterNames = {
  path: 'path',
  after: 'after',
  before: 'before',
  camera: 'camera',
  minWidth: 'minWidth',
  minHeight: 'minHeight',
  format: 'format',
};

/** A filter parameter the user got wrong: a client error, with the parameter's name in the message. */
export class FilterError extends Error {}

/** A validated filter, or null when nothing is filtered. Throws FilterError naming the bad parameter. */
export function parseFilter(raw: RawFilter, names: FilterNames, cwd = process.cwd()): SearchFilter | null {
  const filter: SearchFilter = {};
  if (raw.path !== undefined) filter.path = parsePath(raw.path, names.path, cwd);
  if (raw.after !== undefined) filter.after = parseDate(raw.after, names.after);
  if (raw.before !== undefined) filter.before = parseDate(raw.before, names.before);
  if (filter.after && filter.before && filter.after >= filter.before) {
    throw new FilterError(`${names.after} (${raw.after}) must be earlier than ${names.before} (${raw.before})`);
  }
  if (raw.camera !== undefined) {
    if (raw.camera.trim() === '') throw new FilterError(`${names.camera} must not be empty`);
    filter.camera = raw.camera.trim();
  }
  if (raw.minWidth !== undefined) filter.minWidth = parseSize(raw.minWidth, names.minWidth);
  if (raw.minHeight !== undefined) filter.minHeight = parseSize(raw.minHeight, names.minHeight);
  if (raw.format !== undefined) filter.formats = parseFormats(raw.format, names.format);
  return Object.keys(filter).length === 0 ? null : filter;
}

function parsePath(value: string, name: string, cwd: string): SearchFilter['path'] {
  if (value.trim() === '') throw new FilterError(`${name} must not be empty`);
  const absolute = isAbsolute(value) ? value : resolve(cwd, value);
  // resolve() would drop a trailing "/" and fold "a/*/.." — keep globs as written, only made absolute.
  if (/[*?[]/.test(value)) return { glob: isAbsolute(value) ? value : `${cwd.replace(/\/$/, '')}/${value}` };
  return { folder: absolute.replace(/\/+$/, '') || '/' };
}

/** "2021", "2021-06", "2021-06-05", "2021-06-05T14:03" or "2021-06-05 14:03:09", in local wall-clock time. */
function parseDate(value: string, name: string): string {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?)?)?$/.exec(value.trim());
  const bad = () => new FilterError(`${name} must be a date like 2021-06-05 (or 2021-06-05T14:03), not "${value}"`);
  if (!m) throw bad();
  const [year, month, day, hour, minute, second] = [m[1], m[2] ?? '01', m[3] ?? '01', m[4] ?? '00', m[5] ?? '00', m[6] ?? '00'].map(Number);
  const check = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw bad();
  }
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}`;
}

function parseSize(value: string | number, name: string): number {
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new FilterError(`${name} must be a whole number of pixels, 0 or more, not "${value}"`);
  return n;
}

const FORMAT_ALIASES: Record<string, string> = { jpeg: 'jpg', tiff: 'tif', heif: 'heic' };

/**
 * The image formats the scan can record (file-type's image extensions, which
 * media/sniff-format.ts uses): any other name would silently match nothing.
 */
export const IMAGE_FORMATS = [
  'jpg',
  'png',
  'gif',
  'webp',
  'avif',
  'heic',
  'tif',
  'bmp',
  'ico',
  'jxl',
  'jp2',
  'jpx',
  'jpm',
  'j2c',
  'mj2',
  'jls',
  'jxr',
  'psd',
  'xcf',
  'flif',
  'bpg',
  'apng',
  'icns',
  'ktx',
  'cr2',
  'cr3',
  'nef',
  'arw',
  'dng',
  'orf',
  'rw2',
  'raf',
  'dwg',
] as const;

function parseFormats(value: string, name: string): string[] {
  const formats = value
    .split(',')
    .map((f) => f.trim().toLowerCase().replace(/^\./, ''))
    .filter((f) => f !== '');
  if (formats.length === 0 || formats.some((f) => !/^[a-z0-9]+$/.test(f))) {
    throw new FilterError(`${name} must be formats separated by commas, e.g. jpg,png, not "${value}"`);
  }
  const named = [...new Set(formats.map((f) => FORMAT_ALIASES[f] ?? f))];
  const unknown = named.filter((f) => !(IMAGE_FORMATS as readonly string[]).includes(f));
  if (unknown.length > 0) {
    throw new FilterError(
      `${name}: ${unknown.map((f) => `"${f}"`).join(', ')} is no image format picsift knows; known: ${IMAGE_FORMATS.join(', ')}`,
    );
  }
  return named;
}
