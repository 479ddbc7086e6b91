// `picsift recover`: a catalogue file damaged on disk (a bad sector, a copy cut
// short, bytes overwritten) is never edited in place. What SQLite can still read
// is copied into a new catalogue: image rows a range at a time, and where a range
// hits a damaged page, smaller ranges down to single rows, so one bad page costs
// only the rows on it. Every vector is checked (width, finite, unit length)
// before it is kept; an embedded image whose vector is lost goes back to the
// queue. The damaged file is kept beside the new one, renamed, never deleted.
import Database from 'better-sqlite3';
import { existsSync, renameSync, rmSync } from 'node:fs';
import type { CatalogRow } from '../types.js';
import { blobToVector } from '../../util/vectors.js';
import { toRecord, type ImageRow } from './rows.js';
import { SqliteCatalog } from './sqlite-catalog.js';
import { commitFile } from '../../util/durable-files.js';

export interface RecoverReport {
  /** Image rows copied, and rows that could not be read (their files are registered again by the next scan). */
  images: number;
  unreadableImages: number;
  /** Vectors kept, and embedded images sent back to the queue (vector unreadable or invalid). */
  vectors: number;
  requeued: number;
  /** Where the damaged file now is. */
  damaged: string;
}

/** Rows read per query; a failing range is split until single rows. */
const CHUNK = 512;
/** Without a readable largest id, this many empty ranges in a row end the copy. */
const GIVE_UP_AFTER_EMPTY = 256;

export async function recoverSqliteCatalog(path: string): Promise<RecoverReport> {
  let source: Database.Database;
  try {
    source = new Database(path, { readonly: true, fileMustExist: true });
    source.pragma('user_version');
  } catch (err) {
    throw new Error(`cannot read ${path} at all (${(err as Error).message}): nothing can be recovered from it; restore it from a backup`, {
      cause: err,
    });
  }
  const target = `${path}.recovering`;
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${target}${suffix}`, { force: true });
  const fresh = new SqliteCatalog(target);
  const report: RecoverReport = { images: 0, unreadableImages: 0, vectors: 0, requeued: 0, damaged: '' };
  try {
    const dims = new Map<number, number>();
    try {
      const spaces = source.prepare('SELECT id, model_id, dtype, dims, state FROM spaces').all() as {
        id: number;
        model_id: string;
        dtype: string;
        dims: number;
        state: 'active' | 'building' | 'retired';
      }[];
      for (const s of spaces) dims.set(s.id, s.dims);
      const lastScan = Number(source.prepare(`SELECT value FROM meta WHERE key = 'last_scan'`).pluck().get() ?? 0);
      await fresh.maintenance.writeSettings({
        spaces: spaces.map((s) => ({ id: s.id, model: { id: s.model_id, dtype: s.dtype, dims: s.dims }, state: s.state })),
        lastScan,
      });
    } catch {
      // Without its spaces no vector can be checked: the images are kept, all re-queued.
    }
    // The largest id, if the last page can be read; else ranges are read until a long run of empty ones.
    const lastId = readable(() => source.prepare('SELECT max(id) FROM images NOT INDEXED').pluck().get() as number | null);
    for (let from = 1, empty = 0; lastId !== null ? from <= lastId : empty < GIVE_UP_AFTER_EMPTY; from += CHUNK) {
      const rows = readRange(source, from, from + CHUNK - 1, report);
      await fresh.maintenance.writeRows(rows.map((row) => withCheckedVectors(source, row, dims, report)));
      report.images += rows.length;
      empty = rows.length === 0 ? empty + 1 : 0;
    }
    // Rows on a damaged page may simply not be returned: the indexes may still count them.
    const counted = [
      `SELECT count(*) FROM images INDEXED BY images_by_status`,
      `SELECT count(*) FROM images INDEXED BY sqlite_autoindex_images_1`,
    ]
      .map((sql) => readable(() => source.prepare(sql).pluck().get() as number))
      .filter((n): n is number => n !== null);
    if (counted.length > 0) report.unreadableImages = Math.max(report.unreadableImages, Math.max(...counted) - report.images);
  } catch (err) {
    await fresh.close();
    source.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${target}${suffix}`, { force: true });
    throw err;
  }
  await fresh.close();
  source.close();
  report.damaged = `${path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(path, report.damaged);
  for (const suffix of ['-wal', '-shm']) if (existsSync(`${path}${suffix}`)) renameSync(`${path}${suffix}`, `${report.damaged}${suffix}`);
  commitFile(target, path);
  return report;
}

function readable<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}

/** Image rows with ids in [from, to]; ranges that fail are split, down to single rows given up on. */
function readRange(db: Database.Database, from: number, to: number, report: RecoverReport): ImageRow[] {
  const rows = readable(
    () => db.prepare('SELECT * FROM images NOT INDEXED WHERE id BETWEEN ? AND ? ORDER BY id').all(from, to) as ImageRow[],
  );
  if (rows) {
    const kept = rows.filter(plausible);
    report.unreadableImages += rows.length - kept.length;
    return kept;
  }
  if (from === to) {
    // Count it only if the id was in use: a single missing row reads as an empty result, not an error.
    report.unreadableImages++;
    return [];
  }
  const middle = Math.floor((from + to) / 2);
  return [...readRange(db, from, middle, report), ...readRange(db, middle + 1, to, report)];
}

/** A row damaged in a way SQLite does not notice (overwritten bytes inside a page) is dropped, not copied. */
function plausible(r: ImageRow): boolean {
  const statuses = ['pending', 'embedded', 'failed', 'removed', 'skipped'];
  return (
    typeof r.path === 'string' &&
    r.path.startsWith('/') &&
    statuses.includes(r.status) &&
    Number.isFinite(r.size) &&
    Number.isFinite(r.mtime_ms)
  );
}

/** The row with the vectors that pass their checks; an embedded image without its active vector goes back to pending. */
function withCheckedVectors(db: Database.Database, r: ImageRow, dims: Map<number, number>, report: RecoverReport): CatalogRow {
  const stored =
    readable(
      () => db.prepare('SELECT space, vector FROM vectors NOT INDEXED WHERE image_id = ?').all(r.id) as { space: number; vector: Buffer }[],
    ) ?? [];
  const vectors = stored
    .filter((v) => v.vector.byteLength === (dims.get(v.space) ?? -1) * 4)
    .map((v) => ({ space: v.space, vector: blobToVector(v.vector) }))
    .filter((v) => isUnit(v.vector));
  report.vectors += vectors.length;
  const active = readable(() => db.prepare(`SELECT id FROM spaces WHERE state = 'active'`).pluck().get() as number | undefined);
  let status = r.status;
  if ((status === 'embedded' || status === 'removed') && !vectors.some((v) => v.space === active)) {
    status = status === 'embedded' ? 'pending' : 'removed';
    if (r.status === 'embedded') report.requeued++;
  }
  const failures =
    readable(
      () => db.prepare('SELECT space, reason FROM space_failures WHERE image_id = ?').all(r.id) as { space: number; reason: string }[],
    ) ?? [];
  return {
    ...toRecord({ ...r, status }),
    registeredAt: r.registered_at,
    embeddedAt: status === 'embedded' ? r.embedded_at : null,
    seenScan: r.seen_scan,
    vectors,
    spaceFailures: failures,
  };
}

function isUnit(v: Float32Array): boolean {
  let sum = 0;
  for (const x of v) sum += x * x;
  return Number.isFinite(sum) && Math.abs(Math.sqrt(sum) - 1) <= 1e-3;
}
