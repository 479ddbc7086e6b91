// Which model made the PostgreSQL library's vectors: its vector spaces (see
// ports.ts, ModelRegistry). Two machines may claim a model for a new library, or
// begin or switch spaces, at once, so every change locks the spaces table: the
// second sees the first's outcome. EXCLUSIVE mode still lets searches read it.
import type { ModelRegistry } from '../ports.js';
import { ModelMismatchError, SpaceIncompleteError, sameModel, type ModelIdentity, type SpaceProgress, type VectorSpace } from '../types.js';
import { beginSpaceDecision, failedInSpaceReason, SPACE_DROP_BATCH, toSpace, unknownSpace, type SpaceRow } from '../spaces.js';
import type pg from 'pg';
import type { PgConnection } from './connection.js';

const SPACE_COLUMNS = 'id, model_id, dtype, dims, state';

/** A connection or a transaction: what a read needs. */
interface Query {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

export class PostgresModelRegistry implements ModelRegistry {
  constructor(private readonly db: PgConnection) {}

  async model(): Promise<ModelIdentity | null> {
    return (await this.activeSpace())?.model ?? null;
  }

  async claimModel(model: ModelIdentity): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('LOCK TABLE spaces IN EXCLUSIVE MODE');
      const recorded = (await this.all(tx)).find((s) => s.state === 'active')?.model;
      if (!recorded) {
        await tx.query(
          `INSERT INTO spaces (id, model_id, dtype, dims, state) SELECT coalesce(max(id), 0) + 1, $1, $2, $3, 'active' FROM spaces`,
          [model.id, model.dtype, model.dims],
        );
      } else if (!sameModel(recorded, model)) {
        throw new ModelMismatchError(this.db.location, recorded, model);
      }
    });
  }

  async activeSpace(): Promise<VectorSpace | null> {
    const { rows } = await this.db.query<SpaceRow>(`SELECT ${SPACE_COLUMNS} FROM spaces WHERE state = 'active'`);
    return rows[0] ? toSpace(rows[0]) : null;
  }

  async spaces(): Promise<VectorSpace[]> {
    return this.all(this.db);
  }

  async beginSpace(model: ModelIdentity): Promise<VectorSpace> {
    return this.db.transaction(async (tx) => {
      await tx.query('LOCK TABLE spaces IN EXCLUSIVE MODE');
      const decision = beginSpaceDecision(await this.all(tx), model);
      if ('resume' in decision) return decision.resume;
      if ('revive' in decision) {
        await tx.query(`UPDATE spaces SET state = 'building' WHERE id = $1`, [decision.revive.id]);
        return { ...decision.revive, state: 'building' as const };
      }
      const { rows } = await tx.query<{ id: number }>(
        `INSERT INTO spaces (id, model_id, dtype, dims, state) SELECT coalesce(max(id), 0) + 1, $1, $2, $3, 'building' FROM spaces RETURNING id`,
        [model.id, model.dtype, model.dims],
      );
      return { id: Number(rows[0].id), model, state: 'building' as const };
    });
  }

  async spaceProgress(space: number): Promise<SpaceProgress> {
    return this.progress(this.db, space);
  }

  async activateSpace(space: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('LOCK TABLE spaces IN EXCLUSIVE MODE');
      const target = (await this.all(tx)).find((s) => s.id === space);
      if (!target) throw unknownSpace(space);
      if (target.state === 'active') return;
      // No vector or failure of this space may appear between the count and the switch.
      await tx.query('LOCK TABLE vectors, space_failures IN SHARE ROW EXCLUSIVE MODE');
      const { missing } = await this.progress(tx, space);
      if (missing > 0) throw new SpaceIncompleteError(target.model, missing);
      await tx.query(
        `UPDATE images i SET status = 'failed', error = $2 || f.reason, embedded_at = NULL
         FROM space_failures f
         WHERE f.image_id = i.id AND f.space = $1 AND i.status = 'embedded'
           AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.image_id = i.id AND v.space = $1)`,
        [space, failedInSpaceReason(target.model)],
      );
      // A failed image has no vector in any space.
      await tx.query(
        `DELETE FROM vectors v WHERE v.space <> $1 AND v.image_id IN (SELECT image_id FROM space_failures WHERE space = $1)
           AND NOT EXISTS (SELECT 1 FROM vectors o WHERE o.image_id = v.image_id AND o.space = $1)`,
        [space],
      );
      await tx.query('DELETE FROM space_failures WHERE space = $1', [space]);
      // Two steps, so that the one-active-space index never sees two.
      await tx.query(`UPDATE spaces SET state = 'retired' WHERE state = 'active'`);
      await tx.query(`UPDATE spaces SET state = 'active' WHERE id = $1`, [space]);
    });
  }

  async dropSpace(space: number): Promise<number> {
    const target = (await this.all(this.db)).find((s) => s.id === space);
    if (!target) throw unknownSpace(space);
    if (target.state === 'active') {
      throw new Error(`space ${space} (${target.model.id}) is the library's active model; switch to another one before dropping it`);
    }
    let dropped = 0;
    // A batch per transaction: a million vectors never sit in one, and a killed drop resumes.
    for (;;) {
      const { rowCount } = await this.db.query(
        `DELETE FROM vectors WHERE (space, image_id) IN (SELECT space, image_id FROM vectors WHERE space = $1 LIMIT ${SPACE_DROP_BATCH})`,
        [space],
      );
      dropped += rowCount ?? 0;
      if ((rowCount ?? 0) < SPACE_DROP_BATCH) break;
    }
    await this.db.transaction(async (tx) => {
      await tx.query('LOCK TABLE spaces IN EXCLUSIVE MODE');
      const { rows } = await tx.query<{ state: string }>('SELECT state FROM spaces WHERE id = $1', [space]);
      if (rows[0]?.state === 'active') throw new Error(`space ${space} became the library's active model meanwhile; not dropped`);
      await tx.query('DELETE FROM vectors WHERE space = $1', [space]);
      await tx.query('DELETE FROM space_failures WHERE space = $1', [space]);
      await tx.query('DELETE FROM spaces WHERE id = $1', [space]);
    });
    return dropped;
  }

  private async all(db: Query): Promise<VectorSpace[]> {
    const { rows } = await db.query<SpaceRow>(`SELECT ${SPACE_COLUMNS} FROM spaces ORDER BY id`);
    return rows.map(toSpace);
  }

  private async progress(db: Query, space: number): Promise<SpaceProgress> {
    const { rows } = await db.query<{ embedded: number; done: number; failed: number }>(
      `SELECT count(*) AS embedded,
         count(v.image_id) AS done,
         count(f.image_id) FILTER (WHERE v.image_id IS NULL) AS failed
       FROM images i
       LEFT JOIN vectors v ON v.image_id = i.id AND v.space = $1
       LEFT JOIN space_failures f ON f.image_id = i.id AND f.space = $1
       WHERE i.status = 'embedded'`,
      [space],
    );
    const embedded = Number(rows[0].embedded);
    const done = Number(rows[0].done);
    const failed = Number(rows[0].failed);
    return { embedded, done, failed, missing: embedded - done - failed };
  }
}
