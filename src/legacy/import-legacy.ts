// Adopts a library of the tool picsift replaces: an SQLite `images` table whose
// `embedding_index` points into an embeddings.npy of shape (N, dims) float32.
// Every valid vector is kept; rows whose vector never reached the .npy (the real
// case: 903,000 rows, 1,108 vectors) become pending, so `embed` computes only those.
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Maintenance, ModelRegistry } from '../catalog/ports.js';
import type { ImportedImage, ModelIdentity } from '../catalog/types.js';
import { readNpyHeader, readNpyRows } from './npy.js';

export interface LegacyImportReport {
  rows: number;
  vectors: number;
  embedded: number;
  pending: number;
  skipped: number;
  /** Rows whose vector was absent, out of range, not finite or zero. */
  invalid: number;
  dims: number;
}

interface LegacyRow {
  file_path: string;
  embedding_index: number | null;
  width: number | null;
  height: number | null;
  format: string | null;
}

const REQUIRED_COLUMNS = ['file_path', 'embedding_index'];

export function readLegacyRows(dbPath: string): LegacyRow[] {
  let db: Database.Database;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new Error(`cannot open legacy database ${dbPath}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const columns = (db.prepare(`SELECT name FROM pragma_table_info('images')`).all() as { name: string }[]).map((c) => c.name);
    if (columns.length === 0) throw new Error(`${dbPath} has no table "images"`);
    const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c));
    if (missing.length > 0) throw new Error(`${dbPath}: table images lacks column(s) ${missing.join(', ')}`);
    const optional = (name: string) => (columns.includes(name) ? name : `NULL AS ${name}`);
    return db
      .prepare(
        `SELECT file_path, embedding_index, ${optional('width')}, ${optional('height')}, ${optional('format')} FROM images ORDER BY ${columns.includes('id') ? 'id' : 'rowid'}`,
      )
      .all() as LegacyRow[];
  } finally {
    db.close();
  }
}

/**
 * Adopts the old library. Everything is checked before anything is written: the
 * .npy's header, the database's table, and that the vectors are as wide as the
 * model's (`model`), so a failed or mismatched import leaves the library as it
 * was. Only then is the model recorded, and the rows added in batches.
 */
export async function importLegacy(
  catalog: { maintenance: Maintenance; models: ModelRegistry },
  dbPath: string,
  npyPath: string,
  model: ModelIdentity,
): Promise<LegacyImportReport> {
  const header = readNpyHeader(npyPath);
  const rows = readLegacyRows(dbPath);
  if (header.cols !== model.dims) {
    throw new Error(
      `${npyPath} holds ${header.cols}-dimensional vectors, but model ${model.id} (${model.dtype}) makes ${model.dims}-dimensional ones; ` +
        'give the --model that made them (a model folder or hub id), or the library would hold vectors no search can use',
    );
  }
  await catalog.models.claimModel(model);
  const base = dirname(resolve(dbPath));
  const report: LegacyImportReport = {
    rows: rows.length,
    vectors: header.rows,
    embedded: 0,
    pending: 0,
    skipped: 0,
    invalid: 0,
    dims: header.cols,
  };
  const BATCH = 5000;
  for (let start = 0; start < rows.length; start += BATCH) {
    const images = rows.slice(start, start + BATCH).map((row): ImportedImage => {
      const vector = legacyVector(row.embedding_index, header, npyPath);
      if (!vector) report.invalid++;
      const path = isAbsolute(row.file_path) ? row.file_path : resolve(base, row.file_path);
      // Size and mtime as they are now, so that the next scan sees the file as
      // unchanged and keeps the adopted vector.
      let size = 0;
      let mtimeMs = 0;
      try {
        const info = statSync(path);
        size = info.size;
        mtimeMs = Math.trunc(info.mtimeMs);
      } catch {
        // A missing file is adopted anyway; embed or a scan will say what became of it.
      }
      return { path, size, mtimeMs, format: normalizeFormat(row.format), width: row.width, height: row.height, vector };
    });
    const r = await catalog.maintenance.importImages(images);
    report.embedded += r.embedded;
    report.pending += r.pending;
    report.skipped += r.skipped;
  }
  return report;
}

function legacyVector(index: number | null, header: ReturnType<typeof readNpyHeader>, npyPath: string): Float32Array | null {
  if (index === null || !Number.isInteger(index) || index < 0 || index >= header.rows) return null;
  const v = readNpyRows(npyPath, header, index, 1);
  let norm = 0;
  for (const x of v) norm += x * x;
  if (!Number.isFinite(norm) || norm === 0) return null;
  // The old tool stored CLIP's normalised embeddings; normalise again only if it did not.
  const n = Math.sqrt(norm);
  if (Math.abs(n - 1) > 1e-4) for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

function normalizeFormat(format: string | null): string {
  const f = (format ?? '').toLowerCase();
  return f === 'jpeg' ? 'jpg' : f === 'tiff' ? 'tif' : f || 'unknown';
}
