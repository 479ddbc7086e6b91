// Vector-space rules shared by the backends: what `beginSpace` does in each state
// of the library, and the messages of its refusals. The backends run these
// decisions inside their own transactions.
import { describeModel, reembedCommand, sameModel, SpaceStateError, type ModelIdentity, type VectorSpace } from './types.js';

/** Vectors deleted per transaction when a space is dropped. */
export const SPACE_DROP_BATCH = 10_000;

export interface SpaceRow {
  id: number;
  model_id: string;
  dtype: string;
  dims: number;
  state: VectorSpace['state'];
}

export function toSpace(row: SpaceRow): VectorSpace {
  return { id: Number(row.id), model: { id: row.model_id, dtype: row.dtype, dims: Number(row.dims) }, state: row.state };
}

export type BeginDecision = { resume: VectorSpace } | { revive: VectorSpace } | { create: true };

/**
 * What beginSpace does, given every space: resume the building space of this
 * model, revive a retired one (its vectors are still valid: a changed file
 * loses its vectors in every space), or create one; or refuse.
 */
export function beginSpaceDecision(spaces: readonly VectorSpace[], model: ModelIdentity): BeginDecision {
  const active = spaces.find((s) => s.state === 'active');
  if (!active) {
    throw new SpaceStateError(
      `the library has no model yet, so there is nothing to re-embed: embed it with this model directly (picsift index DIR --model ${model.id})`,
    );
  }
  if (sameModel(active.model, model)) {
    throw new SpaceStateError(`${describeModel(model)} is already the library's model: nothing to re-embed`);
  }
  const building = spaces.find((s) => s.state === 'building');
  if (building && !sameModel(building.model, model)) {
    throw new SpaceStateError(
      `the library is already being re-embedded with ${describeModel(building.model)}; ` +
        `finish that first (\`${reembedCommand(building.model)}\`) or drop it (\`picsift drop-model ${building.model.id}${
          building.model.dtype === 'fp32' ? '' : ` --dtype ${building.model.dtype}`
        }\`)`,
    );
  }
  if (building) return { resume: building };
  const retired = spaces.find((s) => s.state === 'retired' && sameModel(s.model, model));
  return retired ? { revive: retired } : { create: true };
}

/** What an image that failed in a space records as its error once that space is active. */
export function failedInSpaceReason(model: ModelIdentity): string {
  return `with ${model.id}: `;
}

export function unknownSpace(space: number): SpaceStateError {
  return new SpaceStateError(`the library has no vector space ${space}`);
}
