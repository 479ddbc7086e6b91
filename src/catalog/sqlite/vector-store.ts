// One space's vectors in the SQLite catalogue (the active space's, or a given
// space's for a search pinned to it). A vector's position is its
// seq: AUTOINCREMENT never reuses a value and one process writes, so seq order
// is commit order. Vectors are read a page at a time, each page a finished
// statement, so callers may query the catalogue between pages.
import type Database from 'better-sqlite3';
import type { VectorStore } from '../ports.js';
import type { StoredVector } from '../types.js';
import { blobToVector } from '../../util/vectors.js';
import { SAMPLE_RUN, samplePoints } from '../sampling.js';
import { ACTIVE_SPACE, chunks } from './rows.js';

const PAGE = 1024;

export class SqliteVectorStore implements VectorStore {
  private readonly stmt;
  private readonly space: string;

  /** `space`: a space id, or the active space (read by each statement). */
  constructor(
    private readonly db: Database.Database,
    space: number | 'active' = 'active',
  ) {
    const SPACE = space === 'active' ? ACTIVE_SPACE : String(Math.trunc(space));
    this.space = SPACE;
    this.stmt = {
      hasEmbedded: db.prepare(`SELECT 1 FROM images WHERE status = 'embedded' LIMIT 1`),
      // CROSS JOIN fixes the join order: walk vectors by seq (their primary key)
      // from the watermark. With a plain JOIN SQLite starts from every embedded
      // image and sorts; bench:query at 1M vectors: 160 ms per search for an
      // empty tail that way, 0.004 ms this way. The unary + keeps SQLite from
      // walking the (space, image_id) index instead, which reads every vector's
      // entry of the space (200,000 vectors: 7 ms per search; with it 0.03 ms).
      page: db.prepare(
        `SELECT v.image_id AS id, v.seq, v.vector FROM vectors v CROSS JOIN images i ON i.id = v.image_id
         WHERE v.seq >= ? AND v.seq < ? AND +v.space = ${SPACE} AND i.status = 'embedded' ORDER BY v.seq LIMIT ?`,
      ),
      tailCount: db.prepare(
        `SELECT count(*) AS n FROM (SELECT 1 FROM vectors v CROSS JOIN images i ON i.id = v.image_id
         WHERE v.seq >= ? AND +v.space = ${SPACE} AND i.status = 'embedded' LIMIT ?)`,
      ),
      lastSeq: db.prepare('SELECT coalesce(max(seq), 0) AS seq FROM vectors'),
      countBelow: db.prepare(
        `SELECT count(*) AS n FROM vectors v JOIN images i ON i.id = v.image_id
         WHERE v.seq < ? AND v.space = ${SPACE} AND i.status = 'embedded'`,
      ),
      // Walks the (space, image_id) index from the first image id at or after a point.
      firstFrom: db.prepare(
        `SELECT v.image_id AS id, v.seq, v.vector FROM vectors v CROSS JOIN images i ON i.id = v.image_id
         WHERE v.space = ${SPACE} AND v.image_id >= ? AND i.status = 'embedded' ORDER BY v.image_id LIMIT ?`,
      ),
      // Two subqueries: SQLite reads a lone min() or max() from the end of the index, but
      // min() and max() in one SELECT scan all of it (1M vectors: 83–112 ms against 0.3–0.6).
      idRange: db.prepare(
        `SELECT (SELECT min(image_id) FROM vectors WHERE space = ${SPACE}) AS low, (SELECT max(image_id) FROM vectors WHERE space = ${SPACE}) AS high`,
      ),
    };
  }

  async hasEmbedded(): Promise<boolean> {
    return this.stmt.hasEmbedded.get() !== undefined;
  }

  tail(from: number, pageSize = PAGE): AsyncIterable<StoredVector[]> {
    return this.pages(from, Number.MAX_SAFE_INTEGER, pageSize);
  }

  async readForIndex(from: number, pageSize = PAGE): Promise<{ upTo: number; pages: AsyncIterable<StoredVector[]> }> {
    // Every later commit gets a larger seq: nothing below upTo can appear after this.
    const upTo = (this.stmt.lastSeq.get() as { seq: number }).seq + 1;
    return { upTo, pages: this.pages(from, upTo, pageSize) };
  }

  private async *pages(from: number, upTo: number, pageSize: number): AsyncGenerator<StoredVector[]> {
    let next = from;
    for (;;) {
      const rows = this.stmt.page.all(next, upTo, pageSize) as { id: number; seq: number; vector: Buffer }[];
      if (rows.length === 0) return;
      yield rows.map((r) => ({ id: r.id, position: r.seq, vector: blobToVector(r.vector) }));
      if (rows.length < pageSize) return;
      next = rows[rows.length - 1].seq + 1;
    }
  }

  async vectorsOf(ids: readonly number[]): Promise<Map<number, StoredVector>> {
    const out = new Map<number, StoredVector>();
    for (const chunk of chunks(ids, 500)) {
      const rows = this.db
        .prepare(
          `SELECT v.image_id AS id, v.seq, v.vector FROM vectors v JOIN images i ON i.id = v.image_id
           WHERE i.status = 'embedded' AND v.space = ${this.space} AND v.image_id IN (${chunk.map(() => '?').join(',')})`,
        )
        .all(...chunk) as { id: number; seq: number; vector: Buffer }[];
      for (const r of rows) out.set(r.id, { id: r.id, position: r.seq, vector: blobToVector(r.vector) });
    }
    return out;
  }

  async countBelow(upTo: number): Promise<number> {
    return (this.stmt.countBelow.get(upTo) as { n: number }).n;
  }

  async sample(size: number): Promise<StoredVector[]> {
    const toStored = (r: { id: number; seq: number; vector: Buffer }): StoredVector => ({
      id: r.id,
      position: r.seq,
      vector: blobToVector(r.vector),
    });
    const first = this.stmt.firstFrom.all(0, size + 1) as { id: number; seq: number; vector: Buffer }[];
    if (first.length <= size) return first.map(toStored);
    // More than `size`: a run of vectors at or after each of evenly spaced ids.
    const { low, high } = this.stmt.idRange.get() as { low: number; high: number };
    const picked = new Map<number, StoredVector>();
    for (const point of samplePoints(low, high, size)) {
      for (const row of this.stmt.firstFrom.all(point, SAMPLE_RUN) as { id: number; seq: number; vector: Buffer }[]) {
        if (!picked.has(row.id)) picked.set(row.id, toStored(row));
      }
    }
    return [...picked.values()].slice(0, size);
  }

  async tailCount(from: number, limit: number): Promise<number> {
    return (this.stmt.tailCount.get(from, limit) as { n: number }).n;
  }
}
