// Writes the library in the old tool's layout, for numpy and FAISS users:
// DIR/embeddings.npy (float32, row i = embedding_index i) and DIR/metadata.db
// (table images(id, file_path, embedding_index, width, height, format, …)).
// Both are written under temporary names and renamed into place at the end, so
// an interrupted export leaves the folder as it was (its temporary files are
// removed on failure, and by the next export after a kill).
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Maintenance } from '../catalog/ports.js';
import { NpyWriter } from './npy.js';
import { commitFile } from '../util/durable-files.js';

export const EXPORT_FILES = ['embeddings.npy', 'metadata.db'] as const;

/** Refuses an --out that is a file, or a folder holding an export, unless `force`. */
export function checkExportTarget(outDir: string, force: boolean): void {
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) {
    throw new Error(`--out ${outDir} is a file, not a folder; give a folder to write embeddings.npy and metadata.db into`);
  }
  const present = EXPORT_FILES.filter((f) => existsSync(join(outDir, f)));
  if (present.length > 0 && !force) {
    throw new Error(`--out ${outDir} already holds an export (${present.join(', ')}); add --force to replace it, or give another folder`);
  }
}

export async function exportLegacy(maintenance: Maintenance, outDir: string, dims: number): Promise<{ images: number; vectors: number }> {
  mkdirSync(outDir, { recursive: true });
  const dbPath = join(outDir, 'metadata.db');
  const npyPath = join(outDir, 'embeddings.npy');
  const tmpDb = `${dbPath}.tmp`;
  const tmpNpy = `${npyPath}.tmp`;
  rmSync(tmpDb, { force: true });
  const db = new Database(tmpDb);
  // Streamed a page at a time: a million vectors never sit in memory at once.
  const npy = new NpyWriter(tmpNpy, dims);
  let vectors = 0;
  let images = 0;
  let finished = false;
  try {
    db.exec(`CREATE TABLE images (
      id INTEGER PRIMARY KEY, file_path TEXT NOT NULL UNIQUE, embedding_index INTEGER,
      width INTEGER, height INTEGER, format TEXT, size INTEGER, mtime_ms INTEGER, status TEXT, content_hash TEXT)`);
    const insert = db.prepare('INSERT INTO images VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for await (const page of maintenance.exportImages()) {
      db.transaction(() => {
        for (const image of page) {
          let embeddingIndex: number | null = null;
          if (image.vector) {
            npy.append(image.vector);
            embeddingIndex = vectors++;
          }
          const row = [image.id, image.path, embeddingIndex, image.width, image.height, image.format, image.size, image.mtimeMs];
          insert.run(...row, image.status, image.contentHash);
          images++;
        }
      })();
    }
    db.close();
    npy.close();
    finished = true;
  } finally {
    if (!finished) {
      if (db.open) db.close();
      npy.abandon();
      rmSync(tmpDb, { force: true });
      rmSync(tmpNpy, { force: true });
    }
  }
  if (existsSync(dbPath)) rmSync(dbPath);
  commitFile(tmpDb, dbPath);
  commitFile(tmpNpy, npyPath);
  return { images, vectors };
}
