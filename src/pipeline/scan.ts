// Stage 1 of the pipeline: walk folders and yield every file with its size, mtime
// and sniffed format (non-images with the reason, so that every file of a folder
// is accounted for). Problems (unreadable folders, broken links) are
// reported and skipped; symlinked folders are followed once (loops are cut).
import { opendir, stat } from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
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
