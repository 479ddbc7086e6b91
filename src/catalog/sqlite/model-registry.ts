// Which model made the SQLite library's vectors: the active vector space.
import type Database from 'better-sqlite3';
import type { ModelRegistry } from '../ports.js';
import { ModelMismatchError, sameModel, type ModelIdentity } from '../types.js';

export class SqliteModelRegistry implements ModelRegistry {
  private readonly stmt;

  constructor(
    private readonly db: Database.Database,
    private readonly location: string,
  ) {
    this.stmt = {
      active: db.prepare(`SELECT model_id, dtype, dims FROM spaces WHERE state = 'active'`),
      insert: db.prepare(
        `INSERT INTO spaces (id, model_id, dtype, dims, state) SELECT coalesce(max(id), 0) + 1, ?, ?, ?, 'active' FROM spaces`,
      ),
    };
  }

  async model(): Promise<ModelIdentity | null> {
    return this.active();
  }

  async claimModel(model: ModelIdentity): Promise<void> {
    this.db
      .transaction(() => {
        const recorded = this.active();
        if (!recorded) this.stmt.insert.run(model.id, model.dtype, model.dims);
        else if (!sameModel(recorded, model)) throw new ModelMismatchError(this.location, recorded, model);
      })
      .immediate();
  }

  private active(): ModelIdentity | null {
    const row = this.stmt.active.get() as { model_id: string; dtype: string; dims: number } | undefined;
    return row ? { id: row.model_id, dtype: row.dtype, dims: row.dims } : null;
  }
}
