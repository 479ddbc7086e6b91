// Reading images from the SQLite catalogue: by id, by filter, by content, by status.
import type Database from 'better-sqlite3';
import type { ImageQuery } from '../ports.js';
import type { FailedFile, ImageRecord, SearchFilter, StatusCounts } from '../types.js';
import { filterToSql } from './filter-sql.js';
import { chunks, toRecord, type ImageRow } from './rows.js';

export class SqliteImageQuery implements ImageQuery {
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      failures: db.prepare(`SELECT id, path, error FROM images WHERE status = ? ORDER BY path`),
      counts: db.prepare('SELECT status, count(*) AS n FROM images GROUP BY status'),
      identical: db
        .prepare(
          `SELECT group_concat(id) AS ids FROM (SELECT id, content_hash FROM images
             WHERE status = 'embedded' AND content_hash IS NOT NULL AND content_hash <> '' ORDER BY id)
           GROUP BY content_hash HAVING count(*) > 1`,
        )
        .pluck(),
    };
  }

  async get(ids: readonly number[]): Promise<Map<number, ImageRecord>> {
    const out = new Map<number, ImageRecord>();
    for (const chunk of chunks(ids, 500)) {
      const rows = this.db.prepare(`SELECT * FROM images WHERE id IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as ImageRow[];
      for (const r of rows) out.set(r.id, toRecord(r));
    }
    return out;
  }

  async matchingIds(filter: SearchFilter): Promise<number[]> {
    const { where, params } = filterToSql(filter);
    return this.db.prepare(`SELECT id FROM images WHERE status = 'embedded' AND ${where} ORDER BY id`).pluck().all(params) as number[];
  }

  async identicalContentGroups(): Promise<number[][]> {
    return (this.stmt.identical.all() as string[]).map((ids) =>
      ids
        .split(',')
        .map(Number)
        .sort((a, b) => a - b),
    );
  }

  async failures(): Promise<{ failed: FailedFile[]; skipped: FailedFile[] }> {
    const list = (status: string): FailedFile[] =>
      (this.stmt.failures.all(status) as { id: number; path: string; error: string | null }[]).map((r) => ({
        id: r.id,
        path: r.path,
        reason: r.error ?? 'unknown error',
      }));
    return { failed: list('failed'), skipped: list('skipped') };
  }

  async counts(): Promise<StatusCounts> {
    const c: StatusCounts = { images: 0, embedded: 0, pending: 0, failed: 0 };
    for (const row of this.stmt.counts.all() as { status: string; n: number }[]) {
      if (row.status === 'removed' || row.status === 'skipped') continue;
      c.images += row.n;
      if (row.status === 'embedded' || row.status === 'pending' || row.status === 'failed') c[row.status] += row.n;
    }
    return c;
  }
}
