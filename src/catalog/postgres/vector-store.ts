// One space's vectors in the PostgreSQL catalogue (the active space's, or a given
// space's for a search pinned to it). A vector's position is
// the id of the transaction that wrote it (xid8). Concurrent transactions commit
// out of id order, so "the largest position seen" is no watermark: a transaction
// with a smaller id may still commit. readForIndex instead takes upTo = the xmin
// of a snapshot: every transaction below it has finished, so every committed
// vector below upTo is in that snapshot, and anything committed later has a
// position ≥ upTo and shows up in tail(upTo). Pages are keyset-paged on
// (position, image_id), since one transaction writes many vectors.
import type pg from 'pg';
import type { VectorStore } from '../ports.js';
import type { StoredVector } from '../types.js';
import { blobToVector } from '../../util/vectors.js';
import type { PgConnection } from './connection.js';
import { isConnectionLoss } from './errors.js';
import { SAMPLE_RUN, samplePoints } from '../sampling.js';
import { ACTIVE_SPACE, chunks, positionParam } from './rows.js';

const PAGE = 1024;

interface VectorRow {
  id: number;
  position: number;
  vector: Buffer;
}

const pageSql = (space: string): string => `SELECT v.image_id AS id, v.position, v.vector FROM vectors v JOIN images i ON i.id = v.image_id
  WHERE v.space = ${space} AND (v.position, v.image_id) > ($1::xid8, $2::bigint) AND v.position < $3::xid8
    AND i.status = 'embedded'
  ORDER BY v.position, v.image_id LIMIT $4`;

/** Beyond any transaction id: tail's upper bound. */
const NO_BOUND = '18446744073709551615';

const toStored = (r: VectorRow): StoredVector => ({ id: r.id, position: r.position, vector: blobToVector(r.vector) });

export class PostgresVectorStore implements VectorStore {
  /** Snapshot clients of reads not yet finished, ended by close() if a caller never iterates. */
  private readonly open = new Set<pg.Client>();
  /** The space as an SQL expression: an id, or the active space (read by each statement). */
  private readonly space: string;
  private readonly pageQuery: string;

  constructor(
    private readonly db: PgConnection,
    space: number | 'active' = 'active',
  ) {
    this.space = space === 'active' ? ACTIVE_SPACE : String(Math.trunc(space));
    this.pageQuery = pageSql(this.space);
  }

  async hasEmbedded(): Promise<boolean> {
    const { rows } = await this.db.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM images WHERE status = 'embedded') AS any`);
    return rows[0].any;
  }

  /** Each page is its own statement (retried if the connection breaks), so callers may query between pages. */
  async *tail(from: number, pageSize = PAGE): AsyncGenerator<StoredVector[]> {
    let after: [string, number] = [positionParam(from), -1];
    for (;;) {
      const { rows } = await this.db.query<VectorRow>(this.pageQuery, [...after, NO_BOUND, pageSize]);
      if (rows.length === 0) return;
      yield rows.map(toStored);
      if (rows.length < pageSize) return;
      const last = rows[rows.length - 1];
      after = [String(last.position), last.id];
    }
  }

  async readForIndex(from: number, pageSize = PAGE): Promise<{ upTo: number; pages: AsyncIterable<StoredVector[]> }> {
    const start = positionParam(from);
    const { client, upTo } = await this.db.retrying(async () => {
      const client = await this.snapshot();
      try {
        const { rows } = await client.query<{ up_to: number }>('SELECT pg_snapshot_xmin(pg_current_snapshot()) AS up_to');
        return { client, upTo: rows[0].up_to };
      } catch (err) {
        await this.release(client);
        throw err;
      }
    });
    return { upTo, pages: this.snapshotPages(client, start, String(upTo), pageSize) };
  }

  /** A dedicated connection in a REPEATABLE READ READ ONLY transaction: one snapshot for every page. */
  private async snapshot(): Promise<pg.Client> {
    const client = await this.db.dedicatedClient('index read');
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    this.open.add(client);
    return client;
  }

  private async *snapshotPages(first: pg.Client, from: string, upTo: string, pageSize: number): AsyncGenerator<StoredVector[]> {
    let client = first;
    let after: [string, number] = [from, -1];
    try {
      for (;;) {
        let rows: VectorRow[];
        try {
          rows = (await client.query<VectorRow>(this.pageQuery, [...after, upTo, pageSize])).rows;
        } catch (err) {
          if (!isConnectionLoss(err)) throw err;
          // The snapshot is gone with its connection. Any later snapshot still holds every
          // vector committed below upTo (those transactions had all finished), so the read
          // goes on from the last vector returned.
          await this.release(client);
          client = await this.db.retrying(() => this.snapshot());
          continue;
        }
        if (rows.length === 0) return;
        yield rows.map(toStored);
        if (rows.length < pageSize) return;
        const last = rows[rows.length - 1];
        after = [String(last.position), last.id];
      }
    } finally {
      // Also when the caller stops iterating early (return() runs this).
      await this.release(client);
    }
  }

  private async release(client: pg.Client): Promise<void> {
    if (!this.open.delete(client)) return;
    await client.query('ROLLBACK').catch(() => {});
    await client.end().catch(() => {});
  }

  async vectorsOf(ids: readonly number[]): Promise<Map<number, StoredVector>> {
    const out = new Map<number, StoredVector>();
    for (const chunk of chunks(ids, 10_000)) {
      const { rows } = await this.db.query<VectorRow>(
        `SELECT v.image_id AS id, v.position, v.vector FROM vectors v JOIN images i ON i.id = v.image_id
         WHERE i.status = 'embedded' AND v.space = ${this.space} AND v.image_id = ANY($1::bigint[])`,
        [chunk],
      );
      for (const r of rows) out.set(r.id, toStored(r));
    }
    return out;
  }

  async countBelow(upTo: number): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `SELECT count(*) AS n FROM vectors v JOIN images i ON i.id = v.image_id
       WHERE v.position < $1::xid8 AND v.space = ${this.space} AND i.status = 'embedded'`,
      [positionParam(upTo)],
    );
    return rows[0].n;
  }

  async sample(size: number): Promise<StoredVector[]> {
    // Each point walks the (space, image_id) primary key to the first embedded images at or after it.
    const fromPoints = `SELECT DISTINCT ON (s.id) s.id, s.position, s.vector FROM unnest($1::bigint[]) AS p(point)
      CROSS JOIN LATERAL (
        SELECT v.image_id AS id, v.position, v.vector FROM vectors v JOIN images i ON i.id = v.image_id
        WHERE v.space = ${this.space} AND v.image_id >= p.point AND i.status = 'embedded'
        ORDER BY v.image_id LIMIT $2
      ) s ORDER BY s.id`;
    const first = await this.db.query<VectorRow>(fromPoints, [[0], size + 1]);
    if (first.rows.length <= size) return first.rows.map(toStored);
    const range = await this.db.query<{ low: number; high: number }>(
      `SELECT min(image_id) AS low, max(image_id) AS high FROM vectors WHERE space = ${this.space}`,
    );
    const { low, high } = range.rows[0];
    const { rows } = await this.db.query<VectorRow>(fromPoints, [samplePoints(low, high, size), SAMPLE_RUN]);
    return rows.slice(0, size).map(toStored);
  }

  async tailCount(from: number, limit: number): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `SELECT count(*) AS n FROM (SELECT 1 FROM vectors v JOIN images i ON i.id = v.image_id
       WHERE v.space = ${this.space} AND v.position >= $1::xid8 AND i.status = 'embedded' LIMIT $2) AS t`,
      [positionParam(from), limit],
    );
    return Number(rows[0].n);
  }

  /** Ends the snapshot reads that a caller left without iterating. */
  async close(): Promise<void> {
    await Promise.all([...this.open].map((client) => this.release(client)));
  }
}
