// Checks, repairs and bulk moves in the PostgreSQL catalogue, as the SQLite
// catalogue does them (sqlite/maintenance.ts); the row copy for `picsift migrate`
// is in row-copy.ts.
import { vectorProblem } from '../rows.js';
import type { Maintenance } from '../ports.js';
import type { CatalogProblem, CatalogRow, CatalogSettings, ImageRecord, ImportedImage } from '../types.js';
import { blobToVector, vectorToBlob } from '../../util/vectors.js';
import type { PgConnection } from './connection.js';
import { ACTIVE_SPACE, ROOT_KEY, imageColumns, toRecord, underRoot, type ImageRow } from './rows.js';
import * as rowCopy from './row-copy.js';

const PAGE = 1024;

interface VectorCheckRow {
  space: number;
  id: number;
  position: number;
  path: string | null;
  status: string | null;
  vector: Buffer;
}

export class PostgresMaintenance implements Maintenance {
  constructor(private readonly db: PgConnection) {}

  async verify(): Promise<CatalogProblem[]> {
    const problems: CatalogProblem[] = [];
    const withoutVector = await this.db.query<{ id: number; path: string }>(
      `SELECT id, path FROM images i WHERE status = 'embedded'
       AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.image_id = i.id AND v.space = ${ACTIVE_SPACE}) ORDER BY id`,
    );
    for (const r of withoutVector.rows) {
      problems.push({ kind: 'embedded-without-vector', imageId: r.id, path: r.path, detail: 'marked embedded but has no vector' });
    }
    const spaces = await this.db.query<{ id: number; dims: number }>('SELECT id, dims FROM spaces');
    const dims = new Map(spaces.rows.map((s) => [s.id, s.dims]));
    // A page at a time (at 903,000 vectors, all at once would hold 1.8 GB), in the order of
    // the (space, position, image_id) index: per space, commit order, as SQLite's seq.
    for (let after: [number, string, number] = [-1, '0', -1]; ;) {
      const { rows } = await this.db.query<VectorCheckRow>(
        `SELECT v.space, v.image_id AS id, v.position, i.path, i.status, v.vector FROM vectors v LEFT JOIN images i ON i.id = v.image_id
         WHERE (v.space, v.position, v.image_id) > ($1::int, $2::xid8, $3::bigint) ORDER BY v.space, v.position, v.image_id LIMIT ${PAGE}`,
        after,
      );
      for (const r of rows) {
        const problem = vectorProblem(r, dims.get(r.space));
        if (problem) problems.push({ imageId: r.id, path: r.path, space: r.space, ...problem });
      }
      if (rows.length < PAGE) break;
      const last = rows[rows.length - 1];
      after = [last.space, String(last.position), last.id];
    }
    return problems;
  }

  /**
   * [] always: PostgreSQL checks its own pages as it reads them (and their checksums
   * when the cluster has them on); deeper checks (amcheck, pg_checksums) need an
   * extension or a stopped server, which are the database administrator's tools.
   */
  async integrityCheck(_full: boolean): Promise<string[]> {
    return [];
  }

  async repair(problems: readonly CatalogProblem[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      const active = (await tx.query<{ id: number | null }>(`SELECT ${ACTIVE_SPACE} AS id`)).rows[0].id;
      for (const p of problems) {
        // Every fix drops what is wrong; an image whose active vector goes loses its
        // mark and is embedded again by the next `embed`. Nothing is invented.
        if (p.kind !== 'embedded-without-vector' && p.space !== undefined) {
          await tx.query('DELETE FROM vectors WHERE image_id = $1 AND space = $2', [p.imageId, p.space]);
        }
        if (p.space === undefined || p.space === active) {
          await tx.query(`UPDATE images SET status = 'pending', error = NULL, embedded_at = NULL WHERE id = $1 AND status = 'embedded'`, [
            p.imageId,
          ]);
        }
      }
    });
  }

  async forget(root: string): Promise<number[]> {
    return this.db.transaction(async (tx) => {
      // The forgotten folder (and any scanned root under it) is no longer one to watch.
      await tx.query(`DELETE FROM meta WHERE key = $1 || $2 OR starts_with(key, $1 || $3)`, [ROOT_KEY, root, underRoot(root)[0]]);
      const { rows } = await tx.query<{ id: number }>('DELETE FROM images WHERE path = $1 OR (path >= $2 AND path < $3) RETURNING id', [
        root,
        ...underRoot(root),
      ]);
      return rows.map((r) => r.id).sort((a, b) => a - b);
    });
  }

  async importImages(images: readonly ImportedImage[]): Promise<{ embedded: number; pending: number; skipped: number }> {
    if (images.length === 0) return { embedded: 0, pending: 0, skipped: 0 };
    const now = Date.now();
    return this.db.transaction(async (tx) => {
      const col = <T>(f: (i: ImportedImage) => T): T[] => images.map(f);
      // In the given order, so ids follow it; a path listed twice keeps its first entry.
      const inserted = await tx.query<{ id: number; path: string }>(
        `INSERT INTO images (path, size, mtime_ms, format, status, width, height, registered_at, embedded_at)
         SELECT path, size, mtime, format, status, width, height, $8, CASE WHEN status = 'embedded' THEN $8::bigint END
         FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::int[], $7::int[]) WITH ORDINALITY
           AS u(path, size, mtime, format, status, width, height, n)
         ORDER BY n
         ON CONFLICT (path) DO NOTHING RETURNING id, path`,
        [
          col((i) => i.path),
          col((i) => i.size),
          col((i) => Math.trunc(i.mtimeMs)),
          col((i) => i.format),
          col((i) => (i.vector ? 'embedded' : 'pending')),
          col((i) => i.width),
          col((i) => i.height),
          now,
        ],
      );
      const first = new Map<string, ImportedImage>();
      for (const image of images) if (!first.has(image.path)) first.set(image.path, image);
      const withVector = inserted.rows.filter((r) => first.get(r.path)!.vector);
      if (withVector.length > 0) {
        await tx.query(`INSERT INTO vectors (space, image_id, vector) SELECT ${ACTIVE_SPACE}, * FROM unnest($1::bigint[], $2::bytea[])`, [
          withVector.map((r) => r.id),
          withVector.map((r) => vectorToBlob(first.get(r.path)!.vector!)),
        ]);
      }
      return {
        embedded: withVector.length,
        pending: inserted.rows.length - withVector.length,
        skipped: images.length - inserted.rows.length,
      };
    });
  }

  async *exportImages(pageSize = PAGE): AsyncGenerator<(ImageRecord & { vector: Float32Array | null })[]> {
    for (let after = 0; ;) {
      const { rows } = await this.db.query<ImageRow & { vector: Buffer | null }>(
        `SELECT ${imageColumns('i')}, CASE WHEN i.status = 'embedded' THEN v.vector END AS vector FROM images i
         LEFT JOIN vectors v ON v.image_id = i.id AND v.space = ${ACTIVE_SPACE}
         WHERE i.status NOT IN ('removed', 'skipped') AND i.id > $1 ORDER BY i.id LIMIT $2`,
        [after, pageSize],
      );
      if (rows.length === 0) return;
      yield rows.map((row) => ({ ...toRecord(row), vector: row.vector ? blobToVector(row.vector) : null }));
      after = rows[rows.length - 1].id;
    }
  }

  readRows(afterId: number, limit: number): Promise<CatalogRow[]> {
    return rowCopy.readRows(this.db, afterId, limit);
  }

  writeRows(rows: readonly CatalogRow[]): Promise<number> {
    return rowCopy.writeRows(this.db, rows);
  }

  lastRowId(): Promise<number> {
    return rowCopy.lastRowId(this.db);
  }

  settings(): Promise<CatalogSettings> {
    return rowCopy.settings(this.db);
  }

  writeSettings(settings: CatalogSettings): Promise<void> {
    return rowCopy.writeSettings(this.db, settings);
  }
}
