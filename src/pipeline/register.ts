// Scan + record: feeds the scanner's files into the catalogue in transactions of a
// few thousand rows (one fsync each). Known files whose size or mtime changed are
// hashed, so a touched file keeps its vector; files under a scanned folder that
// the scan no longer finds are marked removed (and never returned by search).
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { ScanRegistry } from '../catalog/ports.js';
import type { RegisterResult, ScannedFile } from '../catalog/types.js';
import { readRegularFile } from '../media/safe-open.js';
import { scanImages, type ScanEvents } from './scan.js';

const BATCH = 2000;

export interface RegisterReport extends RegisterResult {
  removed: number;
  problems: number;
  /** Of `skipped`, files and folders whose names are not UTF-8 (listed by `errors`, with the fix). */
  unreadableNames: number;
}

export interface RegisterOptions {
  /** Record the roots as the library's scanned roots (ScanRegistry.recordRoots); default true. A watcher re-reading a subfolder does not. */
  recordRoots?: boolean;
}

export async function registerFolders(
  registry: ScanRegistry,
  roots: readonly string[],
  events: ScanEvents & { onProgress?: (seen: number) => void } = {},
  options: RegisterOptions = {},
): Promise<RegisterReport> {
  const report: RegisterReport = { added: 0, skipped: 0, changed: 0, unchanged: 0, removed: 0, problems: 0, unreadableNames: 0 };
  const scanId = await registry.beginScan();
  let batch: ScannedFile[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    await hashChangedFiles(registry, batch);
    const r = await registry.registerFiles(batch, scanId);
    report.added += r.added;
    report.skipped += r.skipped;
    report.changed += r.changed;
    report.unchanged += r.unchanged;
    batch = [];
    events.onProgress?.(report.added + report.skipped + report.changed + report.unchanged);
  };
  for (const root of roots.map((r) => resolve(r))) {
    let unreadableFolders = 0;
    let folder = false;
    for await (const file of scanImages([root], {
      onFolder: (path, device) => {
        folder = true;
        events.onFolder?.(path, device);
      },
      onProblem: (path, reason, what) => {
        report.problems++;
        if (what === 'folder') unreadableFolders++;
        events.onProblem?.(path, reason, what);
      },
    })) {
      batch.push(file);
      if (file.unreadableName) report.unreadableNames++;
      if (batch.length >= BATCH) await flush();
    }
    // A root that is a single file is complete once listed: many of them (a watcher's
    // burst of new files) share transactions. A folder is flushed before its removals.
    if (!folder) continue;
    await flush();
    // A folder we could not read may still hold its files: only a complete scan
    // of a root can say that something under it is gone.
    if (unreadableFolders === 0) report.removed += await registry.markUnseenRemoved(root, scanId);
  }
  await flush();
  if (options.recordRoots ?? true) await registry.recordRoots(roots.map((r) => resolve(r)));
  return report;
}

/** Size, then mtime, then content: only files whose size or mtime changed are read. */
async function hashChangedFiles(registry: ScanRegistry, files: ScannedFile[]): Promise<void> {
  const known = await registry.knownFiles(files.map((f) => f.path));
  for (const file of files) {
    const k = known.get(file.path);
    if (file.notImage !== undefined || !k || !k.contentHash || (k.size === file.size && k.mtimeMs === file.mtimeMs)) continue;
    try {
      file.contentHash = createHash('sha256')
        .update((await readRegularFile(file.path)).bytes)
        .digest('hex');
    } catch {
      // Unreadable now: treat it as changed; embed will record why it fails.
    }
  }
}
