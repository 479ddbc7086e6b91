// Registering scanned files in the SQLite catalogue.
import type Database from 'better-sqlite3';
import type { ScanRegistry } from '../ports.js';
import type { KnownFile, RegisterResult, ScannedFile } from '../types.js';
import { ACTIVE_SPACE, NO_EXIF_SQL, ROOT_KEY, ROOT_KEY_END, underRoot } from './rows.js';

export class SqliteScanRegistry implements ScanRegistry {
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      scanCounter: db.prepare(
        `INSERT INTO meta (key, value) VALUES ('last_scan', '1')
         ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING CAST(value AS INTEGER) AS id`,
      ),
      findKnown: db.prepare('SELECT size, mtime_ms, status, content_hash FROM images WHERE path = ?'),
      findForRegister: db.prepare(
        `SELECT id, size, mtime_ms, status, content_hash, (SELECT 1 FROM vectors WHERE image_id = images.id AND space = ${ACTIVE_SPACE}) AS has_vector
         FROM images WHERE path = ?`,
      ),
      insertImage: db.prepare(
        `INSERT INTO images (path, size, mtime_ms, format, status, registered_at, seen_scan)
         VALUES (?, ?, ?, ?, 'pending', ?, ?)`,
      ),
      upsertSkipped: db.prepare(
        `INSERT INTO images (path, size, mtime_ms, format, status, error, registered_at, seen_scan)
         VALUES (@path, @size, @mtime, 'none', 'skipped', @reason, @now, @scan)
         ON CONFLICT (path) DO UPDATE SET size = @size, mtime_ms = @mtime, format = 'none', status = 'skipped',
           error = @reason, seen_scan = @scan, width = NULL, height = NULL, content_hash = NULL, embedded_at = NULL,
           ${NO_EXIF_SQL}`,
      ),
      deleteVectors: db.prepare('DELETE FROM vectors WHERE image_id = ?'),
      deleteSpaceFailures: db.prepare('DELETE FROM space_failures WHERE image_id = ?'),
      vectorsOf: db.prepare('SELECT space, vector FROM vectors WHERE image_id = ? ORDER BY seq'),
      insertVector: db.prepare('INSERT INTO vectors (space, image_id, vector) VALUES (?, ?, ?)'),
      markSeen: db.prepare('UPDATE images SET seen_scan = ? WHERE id = ?'),
      markSameContent: db.prepare(
        `UPDATE images SET size = ?, mtime_ms = ?, seen_scan = ?,
           status = CASE WHEN status = 'removed' THEN 'embedded' ELSE status END WHERE id = ?`,
      ),
      markChanged: db.prepare(
        `UPDATE images SET size = ?, mtime_ms = ?, format = ?, status = 'pending', seen_scan = ?,
           width = NULL, height = NULL, content_hash = NULL, error = NULL, embedded_at = NULL, ${NO_EXIF_SQL}
         WHERE id = ?`,
      ),
      recordRoot: db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`),
      roots: db.prepare(
        `SELECT substr(key, ${ROOT_KEY.length + 1}) AS root FROM meta WHERE key >= '${ROOT_KEY}' AND key < '${ROOT_KEY_END}' ORDER BY key`,
      ),
      markUnseen: db.prepare(
        `UPDATE images SET status = 'removed'
         WHERE (path = ? OR (path >= ? AND path < ?)) AND seen_scan <> ? AND status <> 'removed'`,
      ),
    };
  }

  async beginScan(): Promise<number> {
    return (this.stmt.scanCounter.get() as { id: number }).id;
  }

  async knownFiles(paths: readonly string[]): Promise<Map<string, KnownFile>> {
    const out = new Map<string, KnownFile>();
    for (const path of paths) {
      const row = this.stmt.findKnown.get(path) as
        { size: number; mtime_ms: number; status: KnownFile['status']; content_hash: string | null } | undefined;
      if (row) out.set(path, { size: row.size, mtimeMs: row.mtime_ms, status: row.status, contentHash: row.content_hash });
    }
    return out;
  }

  async registerFiles(files: readonly ScannedFile[], scanId: number): Promise<RegisterResult> {
    const result: RegisterResult = { added: 0, skipped: 0, changed: 0, unchanged: 0 };
    const now = Date.now();
    this.db.transaction(() => {
      for (const f of files) {
        const mtime = Math.trunc(f.mtimeMs);
        const row = this.stmt.findForRegister.get(f.path) as
          { id: number; size: number; mtime_ms: number; status: string; content_hash: string | null; has_vector: 1 | null } | undefined;
        if (f.notImage !== undefined) {
          if (row) this.dropVectors(row.id);
          this.stmt.upsertSkipped.run({ path: f.path, size: f.size, mtime, now, scan: scanId, reason: f.notImage });
          result.skipped++;
        } else if (!row) {
          this.stmt.insertImage.run(f.path, f.size, mtime, f.format, now, scanId);
          result.added++;
        } else if (row.size === f.size && row.mtime_ms === mtime && row.status !== 'skipped') {
          // Unchanged; a removed image that is back (a folder remounted, say) gets its vector back.
          if (row.status !== 'removed') this.stmt.markSeen.run(scanId, row.id);
          else if (row.has_vector) this.restore(row.id, f.size, mtime, scanId);
          else this.stmt.markChanged.run(f.size, mtime, f.format, scanId, row.id);
          result.unchanged++;
        } else if (f.contentHash !== undefined && f.contentHash === row.content_hash && row.has_vector) {
          // Touched or copied over with identical bytes: the vector still describes it.
          if (row.status === 'removed') this.restore(row.id, f.size, mtime, scanId);
          else this.stmt.markSameContent.run(f.size, mtime, scanId, row.id);
          result.unchanged++;
        } else {
          // The content changed: its vectors no longer describe it.
          this.dropVectors(row.id);
          this.stmt.markChanged.run(f.size, mtime, f.format, scanId, row.id);
          result.changed++;
        }
      }
    })();
    return result;
  }

  /**
   * A removed image that is back with the same content gets its vectors back,
   * re-inserted so that they take new positions: an index built while the image
   * was removed did not take them, and only vectors past its watermark reach
   * searches through the exact tail.
   */
  private restore(id: number, size: number, mtime: number, scanId: number): void {
    const vectors = this.stmt.vectorsOf.all(id) as { space: number; vector: Buffer }[];
    this.stmt.deleteVectors.run(id);
    for (const v of vectors) this.stmt.insertVector.run(v.space, id, v.vector);
    this.stmt.markSameContent.run(size, mtime, scanId, id);
  }

  /** A file whose content changed: no space's vector (or failure) describes it any more. */
  private dropVectors(id: number): void {
    this.stmt.deleteVectors.run(id);
    this.stmt.deleteSpaceFailures.run(id);
  }

  async markUnseenRemoved(root: string, scanId: number): Promise<number> {
    return this.stmt.markUnseen.run(root, ...underRoot(root), scanId).changes;
  }

  async recordRoots(roots: readonly string[]): Promise<void> {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const root of roots) this.stmt.recordRoot.run(`${ROOT_KEY}${root}`, now);
    })();
  }

  async roots(): Promise<string[]> {
    return (this.stmt.roots.all() as { root: string }[]).map((r) => r.root);
  }
}
