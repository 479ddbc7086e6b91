// Which model made the PostgreSQL library's vectors: the active vector space.
// Two machines may claim a model for a new library at once, so the claim locks
// the spaces table: the second sees the first's model (and is refused if it differs).
import type { ModelRegistry } from '../ports.js';
import { ModelMismatchError, sameModel, type ModelIdentity } from '../types.js';
import type { QueryResult } from 'pg';
import type { PgConnection } from './connection.js';

export class PostgresModelRegistry implements ModelRegistry {
  constructor(private readonly db: PgConnection) {}

  async model(): Promise<ModelIdentity | null> {
    return this.active((sql) => this.db.query(sql));
  }

  async claimModel(model: ModelIdentity): Promise<void> {
    await this.db.transaction(async (tx) => {
      // EXCLUSIVE still lets searches read the table meanwhile.
      await tx.query('LOCK TABLE spaces IN EXCLUSIVE MODE');
      const recorded = await this.active((sql) => tx.query(sql));
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

  private async active(query: (sql: string) => Promise<QueryResult>): Promise<ModelIdentity | null> {
    const { rows } = (await query(`SELECT model_id, dtype, dims FROM spaces WHERE state = 'active'`)) as QueryResult<{
      model_id: string;
      dtype: string;
      dims: number;
    }>;
    return rows[0] ? { id: rows[0].model_id, dtype: rows[0].dtype, dims: rows[0].dims } : null;
  }
}
