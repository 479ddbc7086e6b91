// Scan + record: feeds the scanner's files into the catalogue in transactions of a
// few thousand rows (one fsync each), so registration runs at disk speed.
import type { Catalog, RegisterResult, ScannedFile } from '../catalog/catalog.js';
import { scanImages, type ScanEvents } from './scan.js';

const BATCH = 2000;

export interface RegisterReport extends RegisterResult {
  skipped: number;
  problems: number;
}

export async function registerFolders(
  catalog: Catalog,
  roots: readonly string[],
  events: ScanEvents & { onProgress?: (seen: number) => void } = {},
): Promise<RegisterReport> {
  const report: RegisterReport = { added: 0, changed: 0, unchanged: 0, skipped: 0, problems: 0 };
  let batch: ScannedFile[] = [];
  const flush = (): void => {
    const r = catalog.registerFiles(batch);
    report.added += r.added;
    report.changed += r.changed;
    report.unchanged += r.unchanged;
    batch = [];
    events.onProgress?.(report.added + report.changed + report.unchanged);
  };
  for await (const file of scanImages(roots, {
    onProblem: (path, reason) => {
      report.problems++;
      events.onProblem?.(path, reason);
    },
    onSkipped: (path) => {
      report.skipped++;
      events.onSkipped?.(path);
    },
  })) {
    batch.push(file);
    if (batch.length >= BATCH) flush();
  }
  flush();
  return report;
}
