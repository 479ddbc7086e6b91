// Writes the library in the old tool's layout, for numpy and FAISS users:
// DIR/embeddings.npy (float32, row i = embedding_index i) and DIR/metadata.db
// (table images(id, file_path, embedding_index, width, height, format, …)).
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalog } from '../catalog/catalog.js';
import { NpyWriter } from './npy.js';
import { commitFile } from '../util/durable-files.js';

export function exportLegacy(catalog: Catalog, outDir: string, dims: number): { images: number; vectors: number } {
  mkdirSync(outDir, { recursive: true });
  const dbPath = join(outDir, 'metadata.db');
  const npyPath = join(outDir, 'embeddings.npy');
  const tmpDb = `${dbPath}.tmp`;
  const tmpNpy = `${npyPath}.tmp`;
  rmSync(tmpDb, { force: true });
  const db = new Database(tmpDb);
  // Streamed: a million vectors never sit in memory at once.
  const npy = new NpyWriter(tmpNpy, catalog.counts().embedded, dims);
  let vectors = 0;
  let images = 0;
  try {
    db.exec(`CREATE TABLE images (
      id INTEGER PRIMARY KEY, file_path TEXT NOT NULL UNIQUE, embedding_index INTEGER,
      width INTEGER, height INTEGER, format TEXT, size INTEGER, mtime_ms INTEGER, status TEXT, content_hash TEXT)`);
    const insert = db.prepare('INSERT INTO images VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (const image of catalog.exportImages()) {
        let embeddingIndex: number | null = null;
        if (image.vector) {
          npy.append(image.vector);
          embeddingIndex = vectors++;
        }
        insert.run(
          image.id,
          image.path,
          embeddingIndex,
          image.width,
          image.height,
          image.format,
          image.size,
          image.mtimeMs,
          image.status,
          image.contentHash,
        );
        images++;
      }
    })();
  } finally {
    db.close();
    npy.close();
  }
  if (existsSync(dbPath)) rmSync(dbPath);
  commitFile(tmpDb, dbPath);
  commitFile(tmpNpy, npyPath);
  return { images, vectors };
}
