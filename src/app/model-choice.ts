// Which model a command uses: the library's own once it has one, so that
// `search` after `index --model M` needs no --model, and never a different one.
import type { ModelRegistry } from '../catalog/ports.js';
import { ModelMismatchError, type ModelIdentity } from '../catalog/types.js';
import { DEFAULT_MODEL, parseDtype, parseModelArg, type ModelSpec } from '../model/model-files.js';

export interface ModelRequest {
  model?: string;
  dtype?: string;
}

export async function chooseModel(models: ModelRegistry, location: string, request: ModelRequest): Promise<ModelSpec> {
  return modelFor(await models.model(), location, request);
}

/** chooseModel, given the library's model as already read (null: it has none yet). */
export function modelFor(recorded: ModelIdentity | null, location: string, request: ModelRequest): ModelSpec {
  const id = request.model === undefined ? undefined : parseModelArg(request.model);
  const dtype = request.dtype === undefined ? undefined : parseDtype(request.dtype);
  if (!recorded) return { id: id ?? DEFAULT_MODEL, dtype: dtype ?? 'fp32' };
  if ((id !== undefined && id !== recorded.id) || (dtype !== undefined && dtype !== recorded.dtype)) {
    throw new ModelMismatchError(location, recorded, { id: id ?? recorded.id, dtype: dtype ?? recorded.dtype });
  }
  return { id: recorded.id, dtype: parseDtype(recorded.dtype) };
}
