// Reading images from the PostgreSQL catalogue: by id, by filter, by content, by
// status. Each call is one statement, so it is retried whole if the connection breaks.
import type { ImageQuery } from '../ports.js';
import type { FailedFile, ImageRecord, SearchFilter, StatusCounts } from '../types.js';
import type { PgConnection } from './connection.js';
import { filterToSql } from './filter-sql.js';
import { IMAGE_COLUMNS, chunks, toRecord, type ImageRow } from './rows.js';

export class PostgresImageQuery implements ImageQuery {
  constructor(private readonly db: PgConnection) {}

  async get(ids: readonly number[]): Promise<Map<number, ImageRecord>> {
    const out = new Map<number, ImageRecord>();
    for (const chunk of chunks(ids, 10_000)) {
      const { rows } = await this.db.query<ImageRow>(`SELECT ${IMAGE_COLUMNS} FROM images WHERE id = ANY($1::bigint[])`, [chunk]);
      for (const r of rows) out.set(r.id, toRecord(r));
    }
    return out;
  }

  async matchingIds(filter: SearchFilter): Promise<number[]> {
    const params: unknown[] = [];
    const where = filterToSql(filter, params);
    const { rows } = await this.db.query<{ id: number }>(
      `SELECT id FROM images WHERE status = 'embedded' AND ${where} ORDER BY id`,
      params,
    );
    return rows.map((r) => r.id);
  }

  async identicalContentGroups(): Promise<number[][]> {
    const { rows } = await this.db.query<{ ids: number[] }>(
      `SELECT array_agg(id ORDER BY id) AS ids FROM images
       WHERE status = 'embedded' AND content_hash IS NOT NULL AND content_hash <> ''
       GROUP BY content_hash HAVING count(*) > 1 ORDER BY content_hash COLLATE "C"`,
    );
    return rows.map((r) => r.ids);
  }

  async failures(): Promise<{ failed: FailedFile[]; skipped: FailedFile[] }> {
    const { rows } = await this.db.query<{ id: number; path: string; error: string | null; status: string }>(
      `SELECT id, path, error, status FROM images WHERE status IN ('failed', 'skipped') ORDER BY path`,
    );
    const list = (status: string): FailedFile[] =>
      rows.filter((r) => r.status === status).map((r) => ({ id: r.id, path: r.path, reason: r.error ?? 'unknown error' }));
    return { failed: list('failed'), skipped: list('skipped') };
  }

  async counts(): Promise<StatusCounts> {
    const c: StatusCounts = { images: 0, embedded: 0, pending: 0, failed: 0 };
    const { rows } = await this.db.query<{ status: string; n: number }>('SELECT status, count(*) AS n FROM images GROUP BY status');
    for (const row of rows) {
      if (row.status === 'removed' || row.status === 'skipped') continue;
      c.images += row.n;
      if (row.status === 'embedded' || row.status === 'pending' || row.status === 'failed') c[row.status] += row.n;
    }
    return c;
  }
}
