// Registering scanned files in the PostgreSQL catalogue. A batch of a few thousand
// files is one transaction of a handful of statements (arrays through unnest),
// not one round trip per file: the rows are read and locked at once, each file is
// decided here exactly as SQLite decides it (sqlite/scan-registry.ts), and the
// decisions are written per kind. A path listed twice splits the batch, so that
// the second sees the first's effect, as it does in SQLite.
import type { ScanRegistry } from '../ports.js';
import type { KnownFile, RegisterResult, ScannedFile } from '../types.js';
import type { PgConnection, Tx } from './connection.js';
import { ACTIVE_SPACE, NO_EXIF_SQL, ROOT_KEY, chunks, underRoot } from './rows.js';

interface ExistingRow {
  id: number;
  path: string;
  size: number;
  mtime_ms: number;
  status: string;
  content_hash: string | null;
  has_vector: boolean;
}

/** What a batch writes, per kind of change. */
interface Writes {
  dropVectors: number[];
  /** New rows, pending or skipped, in file order (so ids follow it, as in SQLite). */
  inserts: { path: string; size: number; mtime: number; format: string; status: string; error: string | null }[];
  skipped: { id: number; size: number; mtime: number; reason: string }[];
  seen: number[];
  sameContent: { id: number; size: number; mtime: number }[];
  /** Removed images that are back with their vector: it gets a new position (see write()). */
  back: number[];
  changed: { id: number; size: number; mtime: number; format: string }[];
}

export class PostgresScanRegistry implements ScanRegistry {
  constructor(private readonly db: PgConnection) {}

  async beginScan(): Promise<number> {
    const { rows } = await this.db.query<{ id: number }>(
      `INSERT INTO meta (key, value) VALUES ('last_scan', '1')
       ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text RETURNING value::bigint AS id`,
    );
    return rows[0].id;
  }

  async knownFiles(paths: readonly string[]): Promise<Map<string, KnownFile>> {
    const out = new Map<string, KnownFile>();
    for (const chunk of chunks(paths, 10_000)) {
      const { rows } = await this.db.query<{
        path: string;
        size: number;
        mtime_ms: number;
        status: KnownFile['status'];
        content_hash: string | null;
      }>('SELECT path, size, mtime_ms, status, content_hash FROM images WHERE path = ANY($1::text[])', [chunk]);
      for (const r of rows) out.set(r.path, { size: r.size, mtimeMs: r.mtime_ms, status: r.status, contentHash: r.content_hash });
    }
    return out;
  }

  async registerFiles(files: readonly ScannedFile[], scanId: number): Promise<RegisterResult> {
    return this.db.transaction(async (tx) => {
      const result: RegisterResult = { added: 0, skipped: 0, changed: 0, unchanged: 0 };
      for (const part of distinctPaths(files)) await this.registerPart(tx, part, scanId, result);
      return result;
    });
  }

  private async registerPart(tx: Tx, files: readonly ScannedFile[], scanId: number, result: RegisterResult): Promise<void> {
    // Locked in id order, as the embed queue's commits lock them, so the two cannot deadlock often
    // (and a deadlock is retried whole).
    const { rows } = await tx.query<ExistingRow>(
      `SELECT id, path, size, mtime_ms, status, content_hash,
         EXISTS (SELECT 1 FROM vectors v WHERE v.image_id = images.id AND v.space = ${ACTIVE_SPACE}) AS has_vector
       FROM images WHERE path = ANY($1::text[]) ORDER BY id FOR UPDATE`,
      [files.map((f) => f.path)],
    );
    const existing = new Map(rows.map((r) => [r.path, r]));
    const w: Writes = { dropVectors: [], inserts: [], skipped: [], seen: [], sameContent: [], back: [], changed: [] };
    for (const f of files) {
      const mtime = Math.trunc(f.mtimeMs);
      const row = existing.get(f.path);
      if (f.notImage !== undefined) {
        if (row) {
          w.dropVectors.push(row.id);
          w.skipped.push({ id: row.id, size: f.size, mtime, reason: f.notImage });
        } else {
          w.inserts.push({ path: f.path, size: f.size, mtime, format: 'none', status: 'skipped', error: f.notImage });
        }
        result.skipped++;
      } else if (!row) {
        w.inserts.push({ path: f.path, size: f.size, mtime, format: f.format, status: 'pending', error: null });
        result.added++;
      } else if (row.size === f.size && row.mtime_ms === mtime && row.status !== 'skipped') {
        // Unchanged; a removed image that is back (a folder remounted, say) gets its vector back.
        if (row.status !== 'removed') w.seen.push(row.id);
        else if (row.has_vector) {
          w.sameContent.push({ id: row.id, size: f.size, mtime });
          w.back.push(row.id);
        } else w.changed.push({ id: row.id, size: f.size, mtime, format: f.format });
        result.unchanged++;
      } else if (f.contentHash !== undefined && f.contentHash === row.content_hash && row.has_vector) {
        // Touched or copied over with identical bytes: the vector still describes it.
        w.sameContent.push({ id: row.id, size: f.size, mtime });
        if (row.status === 'removed') w.back.push(row.id);
        result.unchanged++;
      } else {
        // The content changed: its vectors no longer describe it.
        w.dropVectors.push(row.id);
        w.changed.push({ id: row.id, size: f.size, mtime, format: f.format });
        result.changed++;
      }
    }
    await write(tx, w, scanId, Date.now());
  }

  async markUnseenRemoved(root: string, scanId: number): Promise<number> {
    const { rowCount } = await this.db.query(
      `UPDATE images SET status = 'removed'
       WHERE (path = $1 OR (path >= $2 AND path < $3)) AND seen_scan <> $4 AND status <> 'removed'`,
      [root, ...underRoot(root), scanId],
    );
    return rowCount ?? 0;
  }

  async recordRoots(roots: readonly string[]): Promise<void> {
    if (roots.length === 0) return;
    await this.db.query(`INSERT INTO meta (key, value) SELECT $2 || r, $3 FROM unnest($1::text[]) AS r ON CONFLICT (key) DO NOTHING`, [
      roots,
      ROOT_KEY,
      new Date().toISOString(),
    ]);
  }

  async roots(): Promise<string[]> {
    const { rows } = await this.db.query<{ root: string }>(
      `SELECT substr(key, length($1) + 1) AS root FROM meta WHERE starts_with(key, $1) ORDER BY key COLLATE "C"`,
      [ROOT_KEY],
    );
    return rows.map((r) => r.root);
  }
}

/** Splits files into runs without a repeated path. */
function* distinctPaths(files: readonly ScannedFile[]): Generator<ScannedFile[]> {
  let part: ScannedFile[] = [];
  let paths = new Set<string>();
  for (const f of files) {
    if (paths.has(f.path)) {
      yield part;
      part = [];
      paths = new Set();
    }
    part.push(f);
    paths.add(f.path);
  }
  if (part.length > 0) yield part;
}

async function write(tx: Tx, w: Writes, scanId: number, now: number): Promise<void> {
  if (w.dropVectors.length > 0) {
    // A file whose content changed: no space's vector (or failure) describes it any more.
    await tx.query('DELETE FROM vectors WHERE image_id = ANY($1::bigint[])', [w.dropVectors]);
    await tx.query('DELETE FROM space_failures WHERE image_id = ANY($1::bigint[])', [w.dropVectors]);
  }
  if (w.skipped.length > 0) {
    await tx.query(
      `UPDATE images i SET size = u.size, mtime_ms = u.mtime, format = 'none', status = 'skipped', error = u.reason,
         seen_scan = $5, width = NULL, height = NULL, content_hash = NULL, embedded_at = NULL, ${NO_EXIF_SQL},
         lease_owner = NULL, lease_until = NULL
       FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[]) AS u(id, size, mtime, reason) WHERE i.id = u.id`,
      [w.skipped.map((s) => s.id), w.skipped.map((s) => s.size), w.skipped.map((s) => s.mtime), w.skipped.map((s) => s.reason), scanId],
    );
  }
  if (w.inserts.length > 0) {
    const col = <K extends keyof Writes['inserts'][number]>(k: K): Writes['inserts'][number][K][] => w.inserts.map((r) => r[k]);
    await tx.query(
      `INSERT INTO images (path, size, mtime_ms, format, status, error, registered_at, seen_scan)
       SELECT path, size, mtime, format, status, error, $7, $8
       FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
         AS u(path, size, mtime, format, status, error, n)
       ORDER BY n`,
      [col('path'), col('size'), col('mtime'), col('format'), col('status'), col('error'), now, scanId],
    );
  }
  if (w.seen.length > 0) await tx.query('UPDATE images SET seen_scan = $2 WHERE id = ANY($1::bigint[])', [w.seen, scanId]);
  if (w.sameContent.length > 0) {
    await tx.query(
      `UPDATE images i SET size = u.size, mtime_ms = u.mtime, seen_scan = $4,
         status = CASE WHEN i.status = 'removed' THEN 'embedded' ELSE i.status END
       FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(id, size, mtime) WHERE i.id = u.id`,
      [w.sameContent.map((s) => s.id), w.sameContent.map((s) => s.size), w.sameContent.map((s) => s.mtime), scanId],
    );
  }
  if (w.back.length > 0) {
    // An index built while the image was removed left its vector out; a new position puts
    // it in the index's next tail (readForIndex and tail return embedded images only).
    await tx.query('UPDATE vectors SET position = pg_current_xact_id() WHERE image_id = ANY($1::bigint[])', [w.back]);
  }
  if (w.changed.length > 0) {
    // The lease goes too: a worker embedding the old content loses it (its commit counts
    // it lost, as CommitOutcome says), and the new content is claimed afresh.
    await tx.query(
      `UPDATE images i SET size = u.size, mtime_ms = u.mtime, format = u.format, status = 'pending', seen_scan = $5,
         width = NULL, height = NULL, content_hash = NULL, error = NULL, embedded_at = NULL, ${NO_EXIF_SQL},
         lease_owner = NULL, lease_until = NULL
       FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[]) AS u(id, size, mtime, format) WHERE i.id = u.id`,
      [w.changed.map((s) => s.id), w.changed.map((s) => s.size), w.changed.map((s) => s.mtime), w.changed.map((s) => s.format), scanId],
    );
  }
}
