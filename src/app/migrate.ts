// `picsift migrate`: copies a catalogue to another backend (SQLite library →
// PostgreSQL, or back), every image, status, failure reason and vector bit for
// bit, with the same image ids. Rows go in id order, a batch per transaction,
// so an interrupted copy resumes after the last row it wrote. The copy is a new
// catalogue (its own identity): ANN indexes are rebuilt from it.
import { mkdirSync } from 'node:fs';
import { isPostgresUrl, maskUrl, openCatalog } from '../catalog/open-catalog.js';
import type { Catalog } from '../catalog/ports.js';
import { libraryPaths } from './library.js';
import { sameModel, type StatusCounts } from '../catalog/types.js';

const BATCH = 2000;

export interface MigrateReport {
  copied: number;
  /** Rows the target already had from an interrupted run. */
  resumedAfter: number;
  counts: StatusCounts;
}

export interface MigrateTarget {
  /** For messages: the URL (password masked) or the library folder. */
  location: string;
  /** How to use the copy: the option that names it. */
  use: string;
}

/**
 * Copies `source` to `to` (a PostgreSQL URL, or a library folder for an SQLite
 * catalogue), holding both catalogues' `alone` locks meanwhile.
 */
export async function migrateTo(
  source: Catalog,
  to: string,
  events: { onWait?: (line: string) => void; onProgress?: (copied: number) => void } = {},
): Promise<MigrateReport & MigrateTarget> {
  const target = isPostgresUrl(to)
    ? await openCatalog({ url: to, libraryDir: '/nonexistent' }, { onWait: events.onWait })
    : await openFolder(libraryPaths(to).root);
  try {
    if ((await target.identity()) === (await source.identity()))
      throw new Error(`--to names the catalogue being copied (${source.location})`);
    const lock = await target.lock('alone', 'migrate');
    try {
      const report = await migrateCatalog(source, target, events.onProgress);
      const location = isPostgresUrl(to) ? maskUrl(to) : libraryPaths(to).root;
      return { ...report, location, use: isPostgresUrl(to) ? '--catalog URL' : `--library ${location}` };
    } finally {
      await lock.release();
    }
  } finally {
    await target.close();
  }
}

async function openFolder(dir: string): Promise<Catalog> {
  mkdirSync(dir, { recursive: true });
  return openCatalog({ libraryDir: dir });
}

export async function migrateCatalog(source: Catalog, target: Catalog, onProgress?: (copied: number) => void): Promise<MigrateReport> {
  const [from, to] = await Promise.all([source.maintenance.settings(), target.maintenance.settings()]);
  const resumedAfter = await target.maintenance.lastRowId();
  // The target is new, or a copy of this source that was interrupted (same spaces).
  const sameSpaces =
    to.spaces.length === from.spaces.length &&
    to.spaces.every((s, i) => s.id === from.spaces[i].id && sameModel(s.model, from.spaces[i].model));
  if ((resumedAfter > 0 || to.spaces.length > 0) && !sameSpaces) {
    throw new Error(`${target.location} already holds another library; migrate into an empty catalogue`);
  }
  await target.maintenance.writeSettings(from);
  let copied = 0;
  for (let after = resumedAfter; ;) {
    const rows = await source.maintenance.readRows(after, BATCH);
    if (rows.length === 0) break;
    copied += await target.maintenance.writeRows(rows);
    after = rows[rows.length - 1].id;
    onProgress?.(copied);
  }
  const [a, b] = await Promise.all([source.images.counts(), target.images.counts()]);
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    throw new Error(
      `the copy in ${target.location} does not match ${source.location} (${JSON.stringify(b)} vs ${JSON.stringify(a)}): ` +
        'the source changed since an interrupted migrate began; migrate again into an empty catalogue',
    );
  }
  return { copied, resumedAfter, counts: b };
}
