// Checks, repairs and bulk moves in the SQLite catalogue.
import { vectorProblem } from '../rows.js';
import type Database from 'better-sqlite3';
import type { Maintenance } from '../ports.js';
import type { CatalogProblem, CatalogRow, CatalogSettings, ImageRecord, ImportedImage, VectorSpace } from '../types.js';
import { blobToVector, vectorToBlob } from '../../util/vectors.js';
import { ACTIVE_SPACE, ROOT_KEY, toRecord, underRoot, type ImageRow } from './rows.js';

const PAGE = 1024;

export class SqliteMaintenance implements Maintenance {
  constructor(private readonly db: Database.Database) {}

  async verify(): Promise<CatalogProblem[]> {
    const problems: CatalogProblem[] = [];
    const withoutVector = this.db
      .prepare(
        `SELECT id, path FROM images i WHERE status = 'embedded'
         AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.image_id = i.id AND v.space = ${ACTIVE_SPACE})`,
      )
      .all() as { id: number; path: string }[];
    for (const r of withoutVector) {
      problems.push({ kind: 'embedded-without-vector', imageId: r.id, path: r.path, detail: 'marked embedded but has no vector' });
    }
    const dims = new Map(
      (this.db.prepare('SELECT id, dims FROM spaces').all() as { id: number; dims: number }[]).map((s) => [s.id, s.dims]),
    );
    const page = this.db.prepare(
      `SELECT v.seq, v.space, v.image_id AS id, i.path, i.status, v.vector FROM vectors v LEFT JOIN images i ON i.id = v.image_id
       WHERE v.seq > ? ORDER BY v.seq LIMIT ${PAGE}`,
    );
    // A page at a time: at 903,000 vectors, reading them all at once would hold 1.8 GB.
    for (let after = 0; ;) {
      const rows = page.all(after) as {
        seq: number;
        space: number;
        id: number;
        path: string | null;
        status: string | null;
        vector: Buffer;
      }[];
      for (const r of rows) {
        const problem = vectorProblem(r, dims.get(r.space));
        if (problem) problems.push({ imageId: r.id, path: r.path, space: r.space, ...problem });
      }
      if (rows.length < PAGE) break;
      after = rows[rows.length - 1].seq;
    }
    return problems;
  }

  async integrityCheck(full: boolean): Promise<string[]> {
    const lines = this.db.pragma(full ? 'integrity_check' : 'quick_check', { simple: false }) as Record<string, string>[];
    // integrity_check heads its report with "*** in database main ***": only the findings count.
    const messages = lines.map((row) => String(Object.values(row)[0])).filter((m) => !/^\*\*\* in database/.test(m));
    return messages.length === 1 && messages[0] === 'ok' ? [] : messages;
  }

  async repair(problems: readonly CatalogProblem[]): Promise<void> {
    const deleteVector = this.db.prepare('DELETE FROM vectors WHERE image_id = ? AND space = ?');
    const requeue = this.db.prepare(
      `UPDATE images SET status = 'pending', error = NULL, embedded_at = NULL WHERE id = ? AND status = 'embedded'`,
    );
    const activeSpace = (this.db.prepare(`SELECT ${ACTIVE_SPACE} AS id`).get() as { id: number | null }).id;
    this.db.transaction(() => {
      for (const p of problems) {
        // Every fix drops what is wrong; an image whose active vector goes loses its
        // mark and is embedded again by the next `embed`. Nothing is invented.
        if (p.kind !== 'embedded-without-vector' && p.space !== undefined) deleteVector.run(p.imageId, p.space);
        if (p.space === undefined || p.space === activeSpace) requeue.run(p.imageId);
      }
    })();
  }

  async forget(root: string): Promise<number[]> {
    return this.db.transaction(() => {
      // The forgotten folder (and any scanned root under it) is no longer one to watch.
      const [from, to] = underRoot(root);
      this.db.prepare('DELETE FROM meta WHERE key = ? OR (key >= ? AND key < ?)').run(ROOT_KEY + root, ROOT_KEY + from, ROOT_KEY + to);
      return this.db
        .prepare('DELETE FROM images WHERE path = ? OR (path >= ? AND path < ?) RETURNING id')
        .pluck()
        .all(root, from, to)
        .map(Number)
        .sort((a, b) => a - b);
    })();
  }

  async importImages(images: readonly ImportedImage[]): Promise<{ embedded: number; pending: number; skipped: number }> {
    const result = { embedded: 0, pending: 0, skipped: 0 };
    const now = Date.now();
    const insert = this.db.prepare(
      `INSERT INTO images (path, size, mtime_ms, format, status, width, height, registered_at, embedded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO NOTHING`,
    );
    const insertVector = this.db.prepare(`INSERT INTO vectors (space, image_id, vector) VALUES (${ACTIVE_SPACE}, ?, ?)`);
    this.db.transaction(() => {
      for (const image of images) {
        const status = image.vector ? 'embedded' : 'pending';
        const info = insert.run(
          image.path,
          image.size,
          Math.trunc(image.mtimeMs),
          image.format,
          status,
          image.width,
          image.height,
          now,
          image.vector ? now : null,
        );
        if (info.changes === 0) {
          result.skipped++;
          continue;
        }
        if (image.vector) {
          insertVector.run(info.lastInsertRowid, vectorToBlob(image.vector));
          result.embedded++;
        } else {
          result.pending++;
        }
      }
    })();
    return result;
  }

  async *exportImages(pageSize = PAGE): AsyncGenerator<(ImageRecord & { vector: Float32Array | null })[]> {
    const page = this.db.prepare(
      `SELECT i.*, CASE WHEN i.status = 'embedded' THEN v.vector END AS vector FROM images i
       LEFT JOIN vectors v ON v.image_id = i.id AND v.space = ${ACTIVE_SPACE}
       WHERE i.status NOT IN ('removed', 'skipped') AND i.id > ? ORDER BY i.id LIMIT ?`,
    );
    for (let after = 0; ;) {
      const rows = page.all(after, pageSize) as (ImageRow & { vector: Buffer | null })[];
      if (rows.length === 0) return;
      yield rows.map((row) => ({ ...toRecord(row), vector: row.vector ? blobToVector(row.vector) : null }));
      after = rows[rows.length - 1].id;
    }
  }

  async readRows(afterId: number, limit: number): Promise<CatalogRow[]> {
    const rows = this.db.prepare('SELECT * FROM images WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as ImageRow[];
    if (rows.length === 0) return [];
    const last = rows[rows.length - 1].id;
    const vectors = this.db
      .prepare('SELECT image_id, space, vector FROM vectors WHERE image_id > ? AND image_id <= ? ORDER BY seq')
      .all(afterId, last) as { image_id: number; space: number; vector: Buffer }[];
    const failures = this.db
      .prepare('SELECT image_id, space, reason FROM space_failures WHERE image_id > ? AND image_id <= ?')
      .all(afterId, last) as { image_id: number; space: number; reason: string }[];
    const byId = new Map<number, CatalogRow>(
      rows.map((r) => [
        r.id,
        { ...toRecord(r), registeredAt: r.registered_at, embeddedAt: r.embedded_at, seenScan: r.seen_scan, vectors: [], spaceFailures: [] },
      ]),
    );
    for (const v of vectors) byId.get(v.image_id)?.vectors.push({ space: v.space, vector: blobToVector(v.vector) });
    for (const f of failures) byId.get(f.image_id)?.spaceFailures.push({ space: f.space, reason: f.reason });
    return [...byId.values()];
  }

  async writeRows(rows: readonly CatalogRow[]): Promise<number> {
    const insert = this.db.prepare(
      `INSERT INTO images (id, path, size, mtime_ms, format, status, width, height, content_hash, error, registered_at,
         embedded_at, seen_scan, taken_at, taken_offset, camera_make, camera_model, orientation, gps_lat, gps_lon)
       VALUES (@id, @path, @size, @mtimeMs, @format, @status, @width, @height, @contentHash, @error, @registeredAt,
         @embeddedAt, @seenScan, @takenAt, @takenOffset, @cameraMake, @cameraModel, @orientation, @gpsLat, @gpsLon)
       ON CONFLICT DO NOTHING`,
    );
    const insertVector = this.db.prepare('INSERT INTO vectors (space, image_id, vector) VALUES (?, ?, ?)');
    const insertFailure = this.db.prepare('INSERT INTO space_failures (space, image_id, reason) VALUES (?, ?, ?)');
    let written = 0;
    this.db.transaction(() => {
      for (const row of rows) {
        const { exif, vectors, spaceFailures, ...columns } = row;
        if (insert.run({ ...columns, ...exif }).changes === 0) continue;
        for (const v of vectors) insertVector.run(v.space, row.id, vectorToBlob(v.vector));
        for (const f of spaceFailures) insertFailure.run(f.space, row.id, f.reason);
        written++;
      }
    })();
    return written;
  }

  async lastRowId(): Promise<number> {
    return (this.db.prepare('SELECT coalesce(max(id), 0) AS id FROM images').get() as { id: number }).id;
  }

  async settings(): Promise<CatalogSettings> {
    const spaces = (
      this.db.prepare('SELECT id, model_id, dtype, dims, state FROM spaces ORDER BY id').all() as {
        id: number;
        model_id: string;
        dtype: string;
        dims: number;
        state: VectorSpace['state'];
      }[]
    ).map((s) => ({ id: s.id, model: { id: s.model_id, dtype: s.dtype, dims: s.dims }, state: s.state }));
    const lastScan = this.db.prepare(`SELECT value FROM meta WHERE key = 'last_scan'`).pluck().get() as string | undefined;
    return { spaces, lastScan: Number(lastScan ?? 0) };
  }

  async writeSettings(settings: CatalogSettings): Promise<void> {
    const upsertSpace = this.db.prepare(
      `INSERT INTO spaces (id, model_id, dtype, dims, state) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET model_id = excluded.model_id, dtype = excluded.dtype, dims = excluded.dims, state = excluded.state`,
    );
    this.db.transaction(() => {
      // States change in two steps so that the one-active-space index never sees two.
      this.db.prepare(`UPDATE spaces SET state = 'retired' WHERE state = 'active'`).run();
      for (const s of settings.spaces)
        upsertSpace.run(s.id, s.model.id, s.model.dtype, s.model.dims, s.state === 'active' ? 'retired' : s.state);
      const active = settings.spaces.find((s) => s.state === 'active');
      if (active) this.db.prepare(`UPDATE spaces SET state = 'active' WHERE id = ?`).run(active.id);
      this.db
        .prepare(`INSERT INTO meta (key, value) VALUES ('last_scan', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`)
        .run(String(settings.lastScan));
    })();
  }
}
