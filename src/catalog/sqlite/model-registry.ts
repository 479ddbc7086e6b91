// Which model made the SQLite library's vectors: its vector spaces (see ports.ts,
// ModelRegistry). Every change of state is one immediate transaction, so a
// search or a status in another process sees the spaces before or after it,
// never in between.
import type Database from 'better-sqlite3';
import type { ModelRegistry } from '../ports.js';
import { ModelMismatchError, SpaceIncompleteError, sameModel, type ModelIdentity, type SpaceProgress, type VectorSpace } from '../types.js';
import { beginSpaceDecision, failedInSpaceReason, SPACE_DROP_BATCH, unknownSpace, type SpaceRow, toSpace } from '../spaces.js';

export class SqliteModelRegistry implements ModelRegistry {
  private readonly stmt;

  constructor(
    private readonly db: Database.Database,
    private readonly location: string,
  ) {
    this.stmt = {
      active: db.prepare(`SELECT id, model_id, dtype, dims, state FROM spaces WHERE state = 'active'`),
      all: db.prepare('SELECT id, model_id, dtype, dims, state FROM spaces ORDER BY id'),
      one: db.prepare('SELECT id, model_id, dtype, dims, state FROM spaces WHERE id = ?'),
      insert: db.prepare(
        `INSERT INTO spaces (id, model_id, dtype, dims, state) SELECT coalesce(max(id), 0) + 1, ?, ?, ?, ? FROM spaces RETURNING id`,
      ),
      setState: db.prepare('UPDATE spaces SET state = ? WHERE id = ?'),
      progress: db.prepare(
        `SELECT count(*) AS embedded,
           count(v.image_id) AS done,
           count(CASE WHEN v.image_id IS NULL THEN f.image_id END) AS failed
         FROM images i
         LEFT JOIN vectors v ON v.image_id = i.id AND v.space = @space
         LEFT JOIN space_failures f ON f.image_id = i.id AND f.space = @space
         WHERE i.status = 'embedded'`,
      ),
      failImages: db.prepare(
        `UPDATE images SET status = 'failed', error = @prefix || f.reason, embedded_at = NULL
         FROM space_failures f
         WHERE f.image_id = images.id AND f.space = @space AND images.status = 'embedded'
           AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.image_id = images.id AND v.space = @space)`,
      ),
      // A failed image has no vector in any space: the switch makes these failed.
      dropOtherVectorsOfFailed: db.prepare(
        `DELETE FROM vectors WHERE space <> @space AND image_id IN (SELECT image_id FROM space_failures WHERE space = @space)
           AND NOT EXISTS (SELECT 1 FROM vectors o WHERE o.image_id = vectors.image_id AND o.space = @space)`,
      ),
      retireActive: db.prepare(`UPDATE spaces SET state = 'retired' WHERE state = 'active'`),
      dropVectors: db.prepare(`DELETE FROM vectors WHERE seq IN (SELECT seq FROM vectors WHERE space = ? LIMIT ${SPACE_DROP_BATCH})`),
      dropFailures: db.prepare('DELETE FROM space_failures WHERE space = ?'),
      dropSpace: db.prepare('DELETE FROM spaces WHERE id = ?'),
    };
  }

  async model(): Promise<ModelIdentity | null> {
    return this.activeRow()?.model ?? null;
  }

  async claimModel(model: ModelIdentity): Promise<void> {
    this.db
      .transaction(() => {
        const recorded = this.activeRow()?.model;
        if (!recorded) this.stmt.insert.run(model.id, model.dtype, model.dims, 'active');
        else if (!sameModel(recorded, model)) throw new ModelMismatchError(this.location, recorded, model);
      })
      .immediate();
  }

  async activeSpace(): Promise<VectorSpace | null> {
    return this.activeRow();
  }

  async spaces(): Promise<VectorSpace[]> {
    return (this.stmt.all.all() as SpaceRow[]).map(toSpace);
  }

  async beginSpace(model: ModelIdentity): Promise<VectorSpace> {
    return this.db
      .transaction((): VectorSpace => {
        const decision = beginSpaceDecision((this.stmt.all.all() as SpaceRow[]).map(toSpace), model);
        if ('resume' in decision) return decision.resume;
        if ('revive' in decision) {
          this.stmt.setState.run('building', decision.revive.id);
          return { ...decision.revive, state: 'building' };
        }
        const { id } = this.stmt.insert.get(model.id, model.dtype, model.dims, 'building') as { id: number };
        return { id, model, state: 'building' };
      })
      .immediate();
  }

  async spaceProgress(space: number): Promise<SpaceProgress> {
    return this.progress(space);
  }

  async activateSpace(space: number): Promise<void> {
    this.db
      .transaction(() => {
        const row = this.stmt.one.get(space) as SpaceRow | undefined;
        if (!row) throw unknownSpace(space);
        const target = toSpace(row);
        if (target.state === 'active') return;
        const { missing } = this.progress(space);
        if (missing > 0) throw new SpaceIncompleteError(target.model, missing);
        this.stmt.failImages.run({ space, prefix: failedInSpaceReason(target.model) });
        this.stmt.dropOtherVectorsOfFailed.run({ space });
        this.stmt.dropFailures.run(space);
        // Two steps, so that the one-active-space index never sees two.
        this.stmt.retireActive.run();
        this.stmt.setState.run('active', space);
      })
      .immediate();
  }

  async dropSpace(space: number): Promise<number> {
    const row = this.stmt.one.get(space) as SpaceRow | undefined;
    if (!row) throw unknownSpace(space);
    if (row.state === 'active') {
      throw new Error(`space ${space} (${row.model_id}) is the library's active model; switch to another one before dropping it`);
    }
    let dropped = 0;
    // A batch per transaction: a million vectors never sit in one, and a killed drop resumes.
    for (;;) {
      const n = this.stmt.dropVectors.run(space).changes;
      dropped += n;
      if (n < SPACE_DROP_BATCH) break;
    }
    this.db.transaction(() => {
      this.stmt.dropVectors.run(space);
      this.stmt.dropFailures.run(space);
      this.stmt.dropSpace.run(space);
    })();
    return dropped;
  }

  private progress(space: number): SpaceProgress {
    const { embedded, done, failed } = this.stmt.progress.get({ space }) as { embedded: number; done: number; failed: number };
    return { embedded, done, failed, missing: embedded - done - failed };
  }

  private activeRow(): VectorSpace | null {
    const row = this.stmt.active.get() as SpaceRow | undefined;
    return row ? toSpace(row) : null;
  }
}
