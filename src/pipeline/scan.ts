// Stage 1 of the pipeline: walk folders and yield every file with its size, mtime
// and sniffed format (non-images with the reason, so that every file of a folder
// is accounted for). Problems (unreadable folders, broken links) are
// reported and skipped; symlinked folders are followed once (loops are cut).
import { lstat, opendir, readdir, stat } from 'node:fs/promises';
import { existsSync, type Dirent, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ScannedFile } from '../catalog/types.js';
import { sniffFile } from '../media/sniff-format.js';

export interface ScanEvents {
  /** A file or folder that could not be read; the walk goes on. */
  onProblem?: (path: string, reason: string, what: 'file' | 'folder') => void;
  /** A folder the walk enters, with the device it is on (a watcher tells a removed mount from a deleted folder by it). */
  onFolder?: (path: string, device: number) => void;
}

/** Files of one folder are sniffed this many at a time, to keep the disk busy. */
const SNIFF_CONCURRENCY = 32;

export async function* scanImages(roots: readonly string[], events: ScanEvents = {}): AsyncGenerator<ScannedFile> {
  const visited = new Set<string>();
  for (const root of roots) {
    const path = resolve(root);
    let info: Stats;
    try {
      info = await stat(path);
    } catch (err) {
      events.onProblem?.(path, describe(err), 'folder');
      continue;
    }
    if (info.isDirectory()) {
      yield* walk(path, info, visited, events);
    } else {
      const file = await describeFile(path, events);
      if (file) yield file;
    }
  }
}

async function* walk(dir: string, info: Stats, visited: Set<string>, events: ScanEvents): AsyncGenerator<ScannedFile> {
  const key = `${info.dev}:${info.ino}`;
  if (visited.has(key)) return; // a symlink loop, or a folder reached twice
  visited.add(key);
  events.onFolder?.(dir, info.dev);
  let entries: Dirent[];
  try {
    entries = [];
    for await (const entry of await opendir(dir)) entries.push(entry);
  } catch (err) {
    events.onProblem?.(dir, describe(err), 'folder');
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (entries.some((e) => e.name.includes('\uFFFD'))) {
    // Names that are not UTF-8 (Latin-1 names from old cameras and Windows
    // archives) arrive here with U+FFFD in place of their bytes: no file has that
    // name, so each is accounted for by its real bytes instead of vanishing.
    for (const file of await namesNotUtf8(dir)) yield file;
    // A name that really holds U+FFFD names a file; one decoded from other bytes names nothing.
    entries = entries.filter((e) => !e.name.includes('\uFFFD') || existsSync(join(dir, e.name)));
  }
  const subdirs: [string, Stats][] = [];
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() || entry.isSymbolicLink()) {
      let target: Stats;
      try {
        target = await stat(path); // follows links
      } catch (err) {
        events.onProblem?.(path, describe(err), 'file');
        continue;
      }
      if (target.isDirectory()) subdirs.push([path, target]);
      else if (target.isFile()) files.push(path);
    } else if (entry.isFile()) {
      files.push(path);
    }
  }
  for (let i = 0; i < files.length; i += SNIFF_CONCURRENCY) {
    const batch = await Promise.all(files.slice(i, i + SNIFF_CONCURRENCY).map((f) => describeFile(f, events)));
    for (const file of batch) if (file) yield file;
  }
  for (const [path, target] of subdirs) yield* walk(path, target, visited, events);
}

/** Why a file or folder whose name is not UTF-8 is not read, and how to fix it. */
const NOT_UTF8 = (what: string) =>
  `${what} name is not valid UTF-8 (shown with \\xNN for its bytes), so picsift cannot keep it in the catalogue: ` +
  'rename it to UTF-8 (e.g. convmv -f latin1 -t utf8 --notest -r FOLDER) and scan again';

/** The entries of `dir` whose names are not valid UTF-8, as skipped files shown with their bytes escaped. */
async function namesNotUtf8(dir: string): Promise<ScannedFile[]> {
  let raw: Buffer[];
  try {
    raw = await readdir(dir, { encoding: 'buffer' });
  } catch {
    return [];
  }
  const out: ScannedFile[] = [];
  for (const name of raw) {
    if (Buffer.from(name.toString('utf8'), 'utf8').equals(name)) continue;
    const bytesPath = Buffer.concat([Buffer.from(`${dir}/`), name]);
    let info: Stats | null = null;
    try {
      info = await lstat(bytesPath);
    } catch {
      // Gone since the listing: nothing to account for.
    }
    if (!info) continue;
    out.push({
      path: join(dir, escapeInvalidUtf8(name)),
      size: info.isDirectory() ? 0 : info.size,
      mtimeMs: Math.trunc(info.mtimeMs),
      format: 'none',
      notImage: NOT_UTF8(info.isDirectory() ? 'folder' : 'file'),
      unreadableName: true,
    });
  }
  return out;
}

/** The name with every byte that is not part of a valid UTF-8 sequence written as \xNN. */
export function escapeInvalidUtf8(bytes: Buffer): string {
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    const sequence = length > 0 ? bytes.subarray(i, i + length) : null;
    if (sequence && sequence.length === length && Buffer.from(sequence.toString('utf8'), 'utf8').equals(sequence)) {
      out += sequence.toString('utf8');
      i += length;
    } else {
      out += `\\x${b.toString(16).padStart(2, '0').toUpperCase()}`;
      i++;
    }
  }
  return out;
}

async function describeFile(path: string, events: ScanEvents): Promise<ScannedFile | null> {
  try {
    const { size, mtimeMs, sniffed } = await sniffFile(path);
    const file = { path, size, mtimeMs };
    return 'format' in sniffed ? { ...file, format: sniffed.format } : { ...file, format: 'none', notImage: sniffed.notImage };
  } catch (err) {
    events.onProblem?.(path, describe(err), 'file');
    return null;
  }
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message.replace(/^\w+: /, '')}` : String(e.message ?? err);
}
